//! Logins and the tokens they issue: [`Sessions`] checks passwords against [`Accounts`],
//! issues tokens, verifies them, and counts logins and `/items` requests per account.
//!
//! A token is `B64(user).SEQ.B64(MAC)`: the user it was issued to, the login's sequence number
//! (unique per login), and the first 16 bytes of an HMAC-SHA256 of the two under a key drawn
//! when the target starts. Verifying needs only the key, so any number of logins costs no
//! memory (a map of issued tokens would grow with every login), a token names whom it was
//! issued to, and a client cannot make up a token for another user. The same token is the
//! value of the `session` cookie set by `POST /login`.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::digest::{Key, KeyInit};
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::Sha256;

use crate::accounts::Accounts;

/// How many bytes of the HMAC a token carries.
const MAC_LEN: usize = 16;

/// The name of the cookie `POST /login` sets.
pub(crate) const SESSION_COOKIE: &str = "session";

/// A verified token: whom it was issued to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Session {
    /// The user who logged in.
    pub(crate) user: String,
    /// The account's index when accounts are listed.
    account: Option<usize>,
}

/// Counters of one listed account.
#[derive(Debug, Default)]
struct AccountCounters {
    /// Successful logins.
    logins: AtomicU64,
    /// `/items` requests carrying a valid token issued to this account.
    items: AtomicU64,
}

/// Accounts, the token key and the counters of logins and authenticated requests.
#[derive(Debug)]
pub(crate) struct Sessions {
    /// Who may log in.
    accounts: Accounts,
    /// The HMAC keyed once; cloned per token issued or checked.
    mac: Hmac<Sha256>,
    /// Per listed account, by index; empty for [`Accounts::AnyUser`].
    per_account: Box<[AccountCounters]>,
    /// Successful logins; also the sequence number of the last token issued.
    logins: AtomicU64,
    /// Logins refused (bad password, unknown user).
    logins_refused: AtomicU64,
    /// `/items` requests with a valid token.
    items_authorized: AtomicU64,
    /// `/items` requests with a valid token and a `session` cookie holding another token.
    token_mismatch: AtomicU64,
    /// `/items` requests with a valid token and no valid `session` cookie.
    without_session: AtomicU64,
}

impl Sessions {
    /// Sessions for `accounts`, with a fresh key.
    pub(crate) fn new(accounts: Accounts) -> Sessions {
        let mut key = Key::<Hmac<Sha256>>::default();
        fastrand::fill(&mut key);
        let per_account = match &accounts {
            Accounts::AnyUser { .. } => Box::default(),
            Accounts::List(list) => (0..list.len())
                .map(|_| AccountCounters::default())
                .collect(),
        };
        Sessions {
            accounts,
            mac: <Hmac<Sha256> as KeyInit>::new(&key),
            per_account,
            logins: AtomicU64::new(0),
            logins_refused: AtomicU64::new(0),
            items_authorized: AtomicU64::new(0),
            token_mismatch: AtomicU64::new(0),
            without_session: AtomicU64::new(0),
        }
    }

    /// Checks a password; on success counts the login and returns a new token.
    pub(crate) fn login(&self, user: &str, password: &str) -> Option<String> {
        let account = match &self.accounts {
            Accounts::AnyUser { password: expected } => {
                (!user.is_empty() && password == expected).then_some(None)
            }
            Accounts::List(list) => list.check(user, password).map(Some),
        };
        let Some(account) = account else {
            self.logins_refused.fetch_add(1, Ordering::Relaxed);
            return None;
        };
        let seq = self.logins.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(counters) = account.and_then(|index| self.per_account.get(index)) {
            counters.logins.fetch_add(1, Ordering::Relaxed);
        }
        let payload = format!("{}.{seq}", URL_SAFE_NO_PAD.encode(user));
        let mac = self.sign(&payload);
        Some(format!("{payload}.{}", URL_SAFE_NO_PAD.encode(mac)))
    }

    /// Whom `token` was issued to, if this target issued it.
    pub(crate) fn verify(&self, token: &str) -> Option<Session> {
        let (payload, mac) = token.rsplit_once('.')?;
        let mac = URL_SAFE_NO_PAD.decode(mac).ok()?;
        if mac.len() != MAC_LEN {
            return None;
        }
        let mut check = self.mac.clone();
        check.update(payload.as_bytes());
        check.verify_truncated_left(&mac).ok()?;
        let (user, _seq) = payload.split_once('.')?;
        let user = String::from_utf8(URL_SAFE_NO_PAD.decode(user).ok()?).ok()?;
        let account = match &self.accounts {
            Accounts::AnyUser { .. } => None,
            Accounts::List(list) => Some(list.find(&user)?),
        };
        Some(Session { user, account })
    }

    /// Counts an `/items` request authorized by `session`, whose `session` cookie held
    /// `cookie` (`None`: no valid one) and whose bearer token was `token`.
    pub(crate) fn count_item(&self, session: &Session, token: &str, cookie: Option<&str>) {
        self.items_authorized.fetch_add(1, Ordering::Relaxed);
        if let Some(counters) = session
            .account
            .and_then(|index| self.per_account.get(index))
        {
            counters.items.fetch_add(1, Ordering::Relaxed);
        }
        match cookie {
            None => self.without_session.fetch_add(1, Ordering::Relaxed),
            Some(cookie) if cookie != token => self.token_mismatch.fetch_add(1, Ordering::Relaxed),
            Some(_) => 0,
        };
    }

    /// The counters now.
    pub(crate) fn snapshot(&self) -> SessionsSnapshot {
        let accounts = match &self.accounts {
            Accounts::AnyUser { .. } => BTreeMap::new(),
            Accounts::List(list) => list
                .users()
                .zip(self.per_account.iter())
                .map(|(user, counters)| {
                    let snapshot = AccountSnapshot {
                        logins: counters.logins.load(Ordering::Relaxed),
                        items: counters.items.load(Ordering::Relaxed),
                    };
                    (user.to_owned(), snapshot)
                })
                .collect(),
        };
        SessionsSnapshot {
            logins: self.logins.load(Ordering::Relaxed),
            logins_refused: self.logins_refused.load(Ordering::Relaxed),
            items_authorized: self.items_authorized.load(Ordering::Relaxed),
            token_mismatch: self.token_mismatch.load(Ordering::Relaxed),
            without_session: self.without_session.load(Ordering::Relaxed),
            accounts,
        }
    }

    fn sign(&self, payload: &str) -> [u8; MAC_LEN] {
        let mut mac = self.mac.clone();
        mac.update(payload.as_bytes());
        let full = mac.finalize().into_bytes();
        let mut truncated = [0; MAC_LEN];
        truncated.copy_from_slice(&full[..MAC_LEN]);
        truncated
    }
}

/// Logins and authenticated requests, in `/metrics` under `"sessions"`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SessionsSnapshot {
    /// Successful logins (tokens issued).
    pub logins: u64,
    /// Refused logins (unknown user or bad password; not malformed bodies).
    pub logins_refused: u64,
    /// `/items` requests with a valid bearer token.
    pub items_authorized: u64,
    /// Of those, requests whose `session` cookie held a different valid token: the request
    /// mixed two logins (a token or cookie of another virtual user).
    pub token_mismatch: u64,
    /// Of those, requests without a valid `session` cookie (a client keeping no cookies).
    pub without_session: u64,
    /// Per listed account (only with an accounts file; empty otherwise): logins and
    /// `/items` requests authorized by its tokens.
    pub accounts: BTreeMap<String, AccountSnapshot>,
}

/// The counters of one listed account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountSnapshot {
    /// Successful logins.
    pub logins: u64,
    /// `/items` requests carrying one of its tokens.
    pub items: u64,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::accounts::AccountList;

    fn listed() -> Sessions {
        Sessions::new(Accounts::List(
            AccountList::from_csv("alice,a1\nbob,b2\n").unwrap(),
        ))
    }

    #[test]
    fn tokens_name_their_user_and_are_unique() {
        let sessions = listed();
        let first = sessions.login("alice", "a1").unwrap();
        let second = sessions.login("alice", "a1").unwrap();
        assert_ne!(first, second);
        assert_eq!(sessions.verify(&first).unwrap().user, "alice");
        assert_eq!(sessions.verify(&second).unwrap().user, "alice");
        assert!(sessions.login("bob", "a1").is_none());
        let snapshot = sessions.snapshot();
        assert_eq!(snapshot.logins, 2);
        assert_eq!(snapshot.logins_refused, 1);
        assert_eq!(snapshot.accounts["alice"].logins, 2);
        assert_eq!(snapshot.accounts["bob"].logins, 0);
    }

    #[test]
    fn forged_and_foreign_tokens_are_refused() {
        let sessions = listed();
        let token = sessions.login("bob", "b2").unwrap();
        let (payload, mac) = token.rsplit_once('.').unwrap();
        let (_, seq) = payload.split_once('.').unwrap();
        let as_alice = format!("{}.{seq}.{mac}", URL_SAFE_NO_PAD.encode("alice"));
        assert!(sessions.verify(&as_alice).is_none());
        assert!(
            sessions
                .verify(&format!("{payload}.{}", &mac[..8]))
                .is_none()
        );
        assert!(sessions.verify("garbage").is_none());
        assert!(sessions.verify("").is_none());
        let other = listed();
        assert!(other.verify(&token).is_none(), "another target's key");
    }

    #[test]
    fn any_user_mode_checks_the_password_only() {
        let sessions = Sessions::new(Accounts::default());
        let token = sessions.login("zoe", crate::accounts::DEFAULT_PASSWORD);
        assert_eq!(sessions.verify(&token.unwrap()).unwrap().user, "zoe");
        assert!(sessions.login("zoe", "wrong").is_none());
        assert!(sessions.login("", "secret").is_none());
        assert!(sessions.snapshot().accounts.is_empty());
    }

    #[test]
    fn items_compare_the_token_with_the_session_cookie() {
        let sessions = listed();
        let alice = sessions.login("alice", "a1").unwrap();
        let bob = sessions.login("bob", "b2").unwrap();
        let session = sessions.verify(&alice).unwrap();
        sessions.count_item(&session, &alice, Some(&alice));
        sessions.count_item(&session, &alice, Some(&bob));
        sessions.count_item(&session, &alice, None);
        let snapshot = sessions.snapshot();
        assert_eq!(snapshot.items_authorized, 3);
        assert_eq!(snapshot.token_mismatch, 1);
        assert_eq!(snapshot.without_session, 1);
        assert_eq!(snapshot.accounts["alice"].items, 3);
        assert_eq!(snapshot.accounts["bob"].items, 0);
    }
}
