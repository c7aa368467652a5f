//! Who may log in: [`Accounts`], either any user with one password or a list read from a
//! two-column CSV file (`user,password`) by [`AccountList::from_csv`].
//!
//! A listed account gets its own counters (logins, `/items` requests), so a test can check at
//! the target that each account was used exactly once; the list is capped at
//! [`MAX_ACCOUNTS`] so that those counters stay bounded.

use std::collections::HashMap;
use std::path::Path;

/// The most accounts a list may hold: each has its own counters in `/metrics`.
pub const MAX_ACCOUNTS: usize = 10_000;

/// The password of [`Accounts::AnyUser`] by default.
pub const DEFAULT_PASSWORD: &str = "secret";

/// Who `POST /login` accepts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Accounts {
    /// Any non-empty user name with this password. Logins are counted in total only: the set
    /// of user names is unbounded.
    AnyUser {
        /// The one password every user logs in with.
        password: String,
    },
    /// Exactly these accounts, each counted on its own.
    List(AccountList),
}

impl Default for Accounts {
    fn default() -> Self {
        Accounts::AnyUser {
            password: DEFAULT_PASSWORD.to_owned(),
        }
    }
}

/// A fixed list of accounts, in file order, with unique user names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AccountList {
    /// `(user, password)` in file order; an account's index is its position here.
    accounts: Vec<(String, String)>,
    /// User name to index in `accounts`.
    index: HashMap<String, usize>,
}

/// Why an accounts file was refused.
#[derive(Debug, thiserror::Error)]
pub enum AccountsError {
    /// The file could not be read.
    #[error("cannot read accounts file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What the system said.
        #[source]
        source: std::io::Error,
    },
    /// A line is not `user,password`.
    #[error("accounts line {line}: expected `user,password` (no quotes, no commas in values)")]
    Malformed {
        /// The 1-based line number.
        line: usize,
    },
    /// A user name appears twice.
    #[error("accounts line {line}: user `{user}` is listed twice")]
    Duplicate {
        /// The 1-based line number of the second occurrence.
        line: usize,
        /// The repeated user name.
        user: String,
    },
    /// More accounts than [`MAX_ACCOUNTS`].
    #[error("more than {MAX_ACCOUNTS} accounts")]
    TooMany,
    /// No account at all.
    #[error("no account in the file")]
    Empty,
}

impl AccountList {
    /// Reads a CSV file of `user,password` lines (see [`AccountList::from_csv`]).
    pub fn load(path: &Path) -> Result<AccountList, AccountsError> {
        let text = std::fs::read_to_string(path).map_err(|source| AccountsError::Read {
            path: path.display().to_string(),
            source,
        })?;
        AccountList::from_csv(&text)
    }

    /// Parses `user,password` lines. A first line `user,password` is a header and skipped;
    /// blank lines are skipped; fields are trimmed. Quoting is not supported: a field holding
    /// a `"` or a line with other than two fields is refused, as is an empty user name, a
    /// repeated one, or more than [`MAX_ACCOUNTS`] accounts.
    pub fn from_csv(text: &str) -> Result<AccountList, AccountsError> {
        let mut list = AccountList {
            accounts: Vec::new(),
            index: HashMap::new(),
        };
        for (number, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || (number == 0 && is_header(line)) {
                continue;
            }
            let malformed = AccountsError::Malformed { line: number + 1 };
            let Some((user, password)) = line.split_once(',') else {
                return Err(malformed);
            };
            let (user, password) = (user.trim(), password.trim());
            if user.is_empty() || password.contains(',') || line.contains('"') {
                return Err(malformed);
            }
            if list.accounts.len() == MAX_ACCOUNTS {
                return Err(AccountsError::TooMany);
            }
            if list.index.contains_key(user) {
                return Err(AccountsError::Duplicate {
                    line: number + 1,
                    user: user.to_owned(),
                });
            }
            list.index.insert(user.to_owned(), list.accounts.len());
            list.accounts.push((user.to_owned(), password.to_owned()));
        }
        if list.accounts.is_empty() {
            return Err(AccountsError::Empty);
        }
        Ok(list)
    }

    /// How many accounts the list holds.
    pub fn len(&self) -> usize {
        self.accounts.len()
    }

    /// Whether the list is empty (never, once parsed).
    pub fn is_empty(&self) -> bool {
        self.accounts.is_empty()
    }

    /// The user names, in file order.
    pub fn users(&self) -> impl Iterator<Item = &str> {
        self.accounts.iter().map(|(user, _)| user.as_str())
    }

    /// The index of `user`, if listed.
    pub(crate) fn find(&self, user: &str) -> Option<usize> {
        self.index.get(user).copied()
    }

    /// The index of `user` if listed with `password`.
    pub(crate) fn check(&self, user: &str, password: &str) -> Option<usize> {
        self.find(user)
            .filter(|&index| self.accounts[index].1 == password)
    }
}

fn is_header(line: &str) -> bool {
    let mut fields = line.split(',').map(str::trim);
    fields.next() == Some("user") && fields.next() == Some("password") && fields.next().is_none()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_accounts_with_a_header() {
        let list = AccountList::from_csv("user,password\nalice, a1\n\nbob,b2\n").unwrap();
        assert_eq!(list.len(), 2);
        assert_eq!(list.users().collect::<Vec<_>>(), ["alice", "bob"]);
        assert_eq!(list.check("alice", "a1"), Some(0));
        assert_eq!(list.check("bob", "b2"), Some(1));
        assert_eq!(list.check("bob", "a1"), None);
        assert_eq!(list.check("carol", "b2"), None);
    }

    #[test]
    fn a_header_is_only_skipped_on_the_first_line() {
        let list = AccountList::from_csv("alice,a1\nuser,password\n").unwrap();
        assert_eq!(list.check("user", "password"), Some(1));
    }

    #[test]
    fn refuses_bad_files() {
        let cases = [
            ("alice\n", "line 1"),
            ("user,password\nalice,a,b\n", "line 2"),
            ("\"alice\",a\n", "line 1"),
            (",a\n", "line 1"),
            ("alice,a\nalice,b\n", "listed twice"),
            ("user,password\n\n", "no account"),
        ];
        for (text, expected) in cases {
            let err = AccountList::from_csv(text).unwrap_err().to_string();
            assert!(err.contains(expected), "{text:?}: {err}");
        }
    }

    #[test]
    fn caps_the_number_of_accounts() {
        let text: String = (0..=MAX_ACCOUNTS).map(|i| format!("u{i},p\n")).collect();
        assert!(matches!(
            AccountList::from_csv(&text),
            Err(AccountsError::TooMany)
        ));
        let text: String = (0..MAX_ACCOUNTS).map(|i| format!("u{i},p\n")).collect();
        assert_eq!(AccountList::from_csv(&text).unwrap().len(), MAX_ACCOUNTS);
    }

    #[test]
    fn the_example_file_is_accepted() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/accounts.csv");
        let list = AccountList::load(&path).unwrap();
        assert_eq!(list.len(), 300);
    }
}
