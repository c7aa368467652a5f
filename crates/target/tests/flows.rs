//! The routes of user flows (`/login`, `/items/{id}`, `/cart`, `/echo`) and their counts in
//! `/metrics`, over real sockets.

#![allow(clippy::unwrap_used)]

mod support;

use std::path::Path;

use hyper::StatusCode;
use onslaught_target::{AccountList, Accounts, TargetConfig};
use support::{Client, Reply, Server};

const CREDENTIALS: &str = r#"{"user":"alice","password":"secret"}"#;

/// Logs in with `body` and returns the token and the `session` cookie (`name=value`).
async fn login(client: &mut Client, body: &str) -> (String, String) {
    let reply = client.post("/login", "application/json", body).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let token = reply.json()["token"].as_str().unwrap().to_owned();
    let cookie = reply.headers["set-cookie"].to_str().unwrap().to_owned();
    let session = cookie.split(';').next().unwrap().to_owned();
    (token, session)
}

async fn item(client: &mut Client, id: &str, token: &str, session: Option<&str>) -> Reply {
    let bearer = format!("Bearer {token}");
    let mut headers = vec![("authorization", bearer.as_str())];
    if let Some(session) = session {
        headers.push(("cookie", session));
    }
    client.get_with(&format!("/items/{id}"), &headers).await
}

#[tokio::test]
async fn login_issues_a_token_and_a_session_cookie() {
    let server = Server::start(TargetConfig::default()).await;
    let mut client = server.connect().await;
    let reply = client.post("/login", "application/json", CREDENTIALS).await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "application/json");
    let json = reply.json();
    let token = json["token"].as_str().unwrap();
    assert_eq!(json["user"], "alice");
    let cookie = reply.headers["set-cookie"].to_str().unwrap();
    assert!(cookie.starts_with(&format!("session={token};")), "{cookie}");
    assert!(cookie.contains("Path=/"), "{cookie}");
    let (second, _) = login(&mut client, CREDENTIALS).await;
    assert_ne!(second, token, "every login issues its own token");
}

#[tokio::test]
async fn login_refuses_bad_passwords_and_bad_requests() {
    let server = Server::start(TargetConfig::default()).await;
    let mut client = server.connect().await;
    let wrong = client
        .post(
            "/login",
            "application/json",
            r#"{"user":"alice","password":"guess"}"#,
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert!(wrong.headers.get("set-cookie").is_none());
    let garbled = client
        .post("/login", "application/json", "user=alice")
        .await;
    assert_eq!(garbled.status, StatusCode::BAD_REQUEST);
    assert!(garbled.json()["error"].as_str().unwrap().contains("user"));
    let get = client.get("/login").await;
    assert_eq!(get.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(get.headers["allow"], "POST");

    let metrics = server.target.metrics();
    assert_eq!(metrics.sessions.logins, 0);
    assert_eq!(metrics.sessions.logins_refused, 1);
    assert_eq!(metrics.routes.login.requests_received, 3);
    assert_eq!(metrics.routes.login.statuses[&401], 1);
    assert_eq!(metrics.routes.login.statuses[&400], 1);
    assert_eq!(metrics.routes.login.statuses[&405], 1);
}

#[tokio::test]
async fn items_need_a_token_and_exist_up_to_the_limit() {
    let config = TargetConfig {
        items: 50,
        ..TargetConfig::default()
    };
    let server = Server::start(config).await;
    let mut client = server.connect().await;
    assert_eq!(
        client.get("/items/7").await.status,
        StatusCode::UNAUTHORIZED
    );
    let forged = item(&mut client, "7", "YWxpY2U.1.AAAAAAAAAAAAAAAAAAAAAA", None).await;
    assert_eq!(forged.status, StatusCode::UNAUTHORIZED);
    assert_eq!(forged.headers["www-authenticate"], "Bearer");

    let (token, session) = login(&mut client, CREDENTIALS).await;
    let found = item(&mut client, "7", &token, Some(&session)).await;
    assert_eq!(found.status, StatusCode::OK);
    assert_eq!(found.json()["id"], 7);
    assert_eq!(found.json()["user"], "alice");
    assert_eq!(
        item(&mut client, "50", &token, None).await.status,
        StatusCode::OK
    );
    for missing in ["51", "0", "abc", ""] {
        let reply = item(&mut client, missing, &token, Some(&session)).await;
        assert_eq!(reply.status, StatusCode::NOT_FOUND, "/items/{missing}");
    }

    let json = server.get("/metrics").await.json();
    let items = &json["routes"]["/items"];
    assert_eq!(items["requests_received"], 8);
    assert_eq!(items["statuses"]["401"], 2);
    assert_eq!(items["statuses"]["200"], 2);
    assert_eq!(items["statuses"]["404"], 4);
    assert_eq!(json["routes"]["/login"]["statuses"]["200"], 1);
    assert_eq!(json["sessions"]["items_authorized"], 6);
    assert_eq!(json["sessions"]["without_session"], 1);
    assert_eq!(json["sessions"]["token_mismatch"], 0);
}

#[tokio::test]
async fn the_cart_needs_the_session_cookie() {
    let server = Server::start(TargetConfig::default()).await;
    let mut client = server.connect().await;
    assert_eq!(client.get("/cart").await.status, StatusCode::UNAUTHORIZED);
    let (token, session) = login(&mut client, CREDENTIALS).await;
    let bearer_only = client
        .get_with("/cart", &[("authorization", &format!("Bearer {token}"))])
        .await;
    assert_eq!(bearer_only.status, StatusCode::UNAUTHORIZED);
    let bad = client
        .get_with("/cart", &[("cookie", "session=x.1.y")])
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    let cart = client
        .get_with("/cart", &[("cookie", &format!("theme=dark; {session}"))])
        .await;
    assert_eq!(cart.status, StatusCode::OK);
    assert_eq!(cart.json()["user"], "alice");
    assert_eq!(cart.json()["items"], serde_json::json!([]));
}

#[tokio::test]
async fn echo_answers_the_body_and_its_content_type() {
    let server = Server::start(TargetConfig::default()).await;
    let mut client = server.connect().await;
    let reply = client
        .post("/echo", "text/plain; charset=utf-8", "héllo")
        .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(reply.body, "héllo");
    let empty = client.get("/echo").await;
    assert_eq!(empty.status, StatusCode::OK);
    assert_eq!(empty.headers["content-type"], "application/octet-stream");
    assert_eq!(empty.body, "");

    let too_large = "x".repeat(1024 * 1024 + 1);
    let reply = client.post("/echo", "text/plain", &too_large).await;
    assert_eq!(reply.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(server.target.metrics().routes.echo.statuses[&413], 1);
}

#[tokio::test]
async fn faults_apply_to_the_flow_routes_before_their_effects() {
    let server = Server::start(TargetConfig::default()).await;
    let mut client = server.connect().await;
    let injected = client
        .post("/login?status=503", "application/json", CREDENTIALS)
        .await;
    assert_eq!(injected.status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(injected.headers.get("set-cookie").is_none());
    assert_eq!(
        server.target.metrics().sessions.logins,
        0,
        "an injected failure logs nobody in"
    );
    let (token, _) = login(&mut client, CREDENTIALS).await;
    let started = std::time::Instant::now();
    let slow = client
        .get_with(
            "/items/3?latency=60ms",
            &[("authorization", &format!("Bearer {token}"))],
        )
        .await;
    assert_eq!(slow.status, StatusCode::OK);
    assert!(started.elapsed() >= std::time::Duration::from_millis(60));
    let echoed = client.post("/echo?error_ratio=1", "text/plain", "x").await;
    assert_eq!(echoed.status, StatusCode::INTERNAL_SERVER_ERROR);
}

/// The check a sharded-CSV test makes at the target: with the 300 example accounts, each
/// logged in exactly once and each `/items` request carried the token issued to its user.
#[tokio::test]
async fn listed_accounts_are_counted_one_by_one() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/accounts.csv");
    let list = AccountList::load(&path).unwrap();
    let accounts: Vec<(String, String)> = std::fs::read_to_string(&path)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| {
            let (user, password) = line.split_once(',').unwrap();
            (user.to_owned(), password.to_owned())
        })
        .collect();
    assert_eq!(accounts.len(), 300);
    let config = TargetConfig {
        accounts: Accounts::List(list),
        ..TargetConfig::default()
    };
    let server = Server::start(config).await;

    // 10 virtual users, each logging in with every 10th account and fetching two items.
    let mut users = tokio::task::JoinSet::new();
    for vu in 0..10 {
        let mut client = server.connect().await;
        let mine: Vec<_> = accounts.iter().skip(vu).step_by(10).cloned().collect();
        users.spawn(async move {
            for (user, password) in mine {
                let body = serde_json::json!({ "user": user, "password": password }).to_string();
                let (token, session) = login(&mut client, &body).await;
                for id in ["1", "2"] {
                    let reply = item(&mut client, id, &token, Some(&session)).await;
                    assert_eq!(reply.status, StatusCode::OK);
                    assert_eq!(reply.json()["user"], user.as_str());
                }
            }
        });
    }
    while let Some(done) = users.join_next().await {
        done.unwrap();
    }
    let mut client = server.connect().await;
    let unknown = client
        .post(
            "/login",
            "application/json",
            r#"{"user":"alice","password":"secret"}"#,
        )
        .await;
    assert_eq!(
        unknown.status,
        StatusCode::UNAUTHORIZED,
        "only listed accounts"
    );

    let json = server.get("/metrics").await.json();
    let sessions = &json["sessions"];
    assert_eq!(sessions["logins"], 300);
    assert_eq!(sessions["items_authorized"], 600);
    assert_eq!(sessions["token_mismatch"], 0);
    assert_eq!(sessions["without_session"], 0);
    let per_account = sessions["accounts"].as_object().unwrap();
    assert_eq!(per_account.len(), 300);
    for (user, _) in &accounts {
        assert_eq!(per_account[user]["logins"], 1, "{user}");
        assert_eq!(per_account[user]["items"], 2, "{user}");
    }

    // A virtual user sending another's token with its own cookie is caught.
    let (first, _) = login(&mut client, &credentials(&accounts[0])).await;
    let (_, second_session) = login(&mut client, &credentials(&accounts[1])).await;
    let mixed = item(&mut client, "1", &first, Some(&second_session)).await;
    assert_eq!(mixed.status, StatusCode::OK);
    let sessions = server.target.metrics().sessions;
    assert_eq!(sessions.token_mismatch, 1);
    assert_eq!(sessions.accounts[&accounts[0].0].logins, 2);
}

fn credentials((user, password): &(String, String)) -> String {
    serde_json::json!({ "user": user, "password": password }).to_string()
}
