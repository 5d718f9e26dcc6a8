//! The Twilio adapter against a local server speaking Twilio's protocol, alone and as the
//! service's messenger (asynchronous delivery with retries).

use std::time::Duration;

use base64::Engine;
use chefcito::config::Secret;
use communications::messenger::twilio::{Sender, Twilio, TwilioConfig};
use communications::messenger::{Messenger, SendError};
use serde_json::json;

use crate::common::*;

const SID: &str = "AC0123456789abcdef0123456789abcdef";
const AUTH: &str = "auth-token-1";

fn adapter(base: &str, sender: Sender) -> Twilio {
    let config = TwilioConfig {
        base_url: base.into(),
        account_sid: SID.into(),
        auth_token: Secret::new(AUTH),
        sender,
    };
    Twilio::new(config, reqwest::Client::new()).unwrap()
}

fn basic_auth() -> String {
    let pair = base64::engine::general_purpose::STANDARD.encode(format!("{SID}:{AUTH}"));
    format!("Basic {pair}")
}

#[tokio::test]
async fn sends_the_form_with_basic_auth() {
    let (twilio, base) = fake_twilio().await;
    let t = adapter(&base, Sender::From("+15005550006".into()));
    let body =
        "Tienes un cambio de estado en tu reserva en Lo de Tomás & Cía!\nTu reserva a expirado!";
    let sent = t.send("+5491155550000", body).await.unwrap();
    assert_eq!(sent.provider_id, format!("SM{:032}", 1));
    let requests = twilio.requests();
    assert_eq!(requests.len(), 1);
    let r = &requests[0];
    assert_eq!(r.path, format!("/2010-04-01/Accounts/{SID}/Messages.json"));
    assert_eq!(r.authorization.as_deref(), Some(basic_auth().as_str()));
    assert_eq!(
        r.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(r.form.get("To").map(String::as_str), Some("+5491155550000"));
    assert_eq!(r.form.get("From").map(String::as_str), Some("+15005550006"));
    assert_eq!(r.form.get("Body").map(String::as_str), Some(body));
    assert_eq!(r.form.len(), 3, "{:?}", r.form);
}

#[tokio::test]
async fn can_send_through_a_messaging_service() {
    let (twilio, base) = fake_twilio().await;
    let t = adapter(
        &base,
        Sender::MessagingService("MG3a426d4e392e6a12875647d3e4e7b5be".into()),
    );
    t.send("+5491155550000", "Hola").await.unwrap();
    let r = &twilio.requests()[0];
    assert_eq!(
        r.form.get("MessagingServiceSid").map(String::as_str),
        Some("MG3a426d4e392e6a12875647d3e4e7b5be")
    );
    assert!(!r.form.contains_key("From"));
}

#[tokio::test]
async fn an_invalid_number_is_a_permanent_failure() {
    let (twilio, base) = fake_twilio().await;
    twilio.then(400, invalid_number_error());
    let t = adapter(&base, Sender::From("+15005550006".into()));
    match t.send("+5491100000000", "Hola").await {
        Err(SendError::Permanent(e)) => {
            assert!(e.contains("21211"), "{e}");
            assert!(e.contains("is not a valid phone number"), "{e}");
            assert!(
                !e.contains("+5491100000000"),
                "the number stays out of errors: {e}"
            );
        }
        other => panic!("expected a permanent failure, got {other:?}"),
    }
}

#[tokio::test]
async fn outages_throttling_and_bad_credentials_are_transient() {
    let (twilio, base) = fake_twilio().await;
    twilio.then(
        503,
        json!({"code": 20503, "message": "Service unavailable", "status": 503}),
    );
    twilio.then(500, json!(null));
    twilio.script.lock().unwrap().push((
        429,
        json!({"code": 20429, "message": "Too Many Requests"}),
        Some(7),
    ));
    twilio.then(
        401,
        json!({"code": 20003, "message": "Authenticate", "status": 401}),
    );
    let t = adapter(&base, Sender::From("+15005550006".into()));
    for expected in ["20503", "HTTP 500", "20429", "20003"] {
        match t.send("+5491155550000", "Hola").await {
            Err(SendError::Transient { error, retry_after }) => {
                assert!(error.contains(expected), "{expected}: {error}");
                if expected == "20429" {
                    assert_eq!(retry_after, Some(Duration::from_secs(7)));
                }
            }
            other => panic!("{expected}: expected a transient failure, got {other:?}"),
        }
    }
    assert!(t.send("+5491155550000", "Hola").await.is_ok());
}

#[tokio::test]
async fn an_unreachable_twilio_is_transient_and_the_error_hides_the_sid() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let t = adapter(
        &format!("http://127.0.0.1:{port}"),
        Sender::From("+15005550006".into()),
    );
    match t.send("+5491155550000", "Hola").await {
        Err(SendError::Transient { error, .. }) => {
            assert!(error.contains("unreachable"), "{error}");
            assert!(!error.contains(SID), "{error}");
        }
        other => panic!("expected a transient failure, got {other:?}"),
    }
}

/// A service whose messenger is Twilio at `base`.
async fn twilio_service(base: &str, extra: &[&str]) -> Service {
    let mut args = vec![
        "--messenger",
        "twilio",
        "--twilio-base-url",
        base,
        "--twilio-account-sid",
        SID,
        "--twilio-auth-token",
        AUTH,
        "--twilio-from",
        "+15005550006",
    ];
    args.extend_from_slice(extra);
    let s = service_with(&args).await;
    set_phone(&s.app, "diner", "011 15 5555-0000").await;
    set_phone(&s.app, "resto", "11 4444-1111").await;
    s
}

#[tokio::test]
async fn the_service_delivers_through_twilio() {
    let (twilio, base) = fake_twilio().await;
    let s = twilio_service(&base, &[]).await;
    deliver(&s.app, status_event("e1", None, "Uncomfirmed")).await;
    let page = settled(&s.app, "").await;
    assert!(
        page["result"]
            .as_array()
            .unwrap()
            .iter()
            .all(|m| m["status"] == "sent"),
        "{page:#}"
    );
    let sids: Vec<&str> = page["result"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["provider_id"].as_str().unwrap())
        .collect();
    assert!(sids.iter().all(|sid| sid.starts_with("SM")), "{sids:?}");
    let mut sent: Vec<(String, String)> = twilio
        .requests()
        .into_iter()
        .map(|r| (r.form["To"].clone(), r.form["Body"].clone()))
        .collect();
    sent.sort();
    assert_eq!(
        sent,
        [
            (
                "+5491144441111".to_string(),
                "Crearon una nueva reserva para el dia 2025-06-15, podes verla agregada en la web!"
                    .to_string()
            ),
            (
                "+5491155550000".to_string(),
                "Tu reserva para el dia 2025-06-15 fue creada con exito!".to_string()
            ),
        ]
    );
}

#[tokio::test]
async fn a_transient_failure_is_retried_until_sent() {
    let (twilio, base) = fake_twilio().await;
    twilio.then(
        503,
        json!({"code": 20503, "message": "Service unavailable"}),
    );
    twilio.then(
        503,
        json!({"code": 20503, "message": "Service unavailable"}),
    );
    let s = twilio_service(&base, &[]).await;
    deliver(&s.app, opinion_event("o1")).await;
    let page = settled(&s.app, "to=resto").await;
    let m = &page["result"][0];
    assert_eq!(m["status"], "sent", "{m}");
    assert_eq!(m["attempts"], 3);
    assert!(
        m["error"].as_str().unwrap().contains("20503"),
        "the last failure is kept: {m}"
    );
    assert_eq!(twilio.requests().len(), 3);
}

#[tokio::test]
async fn a_permanent_failure_is_marked_and_not_retried() {
    let (twilio, base) = fake_twilio().await;
    twilio.then(400, invalid_number_error());
    let s = twilio_service(&base, &[]).await;
    deliver(&s.app, opinion_event("o1")).await;
    let page = settled(&s.app, "to=resto").await;
    let m = &page["result"][0];
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(m["attempts"], 1);
    assert!(m["error"].as_str().unwrap().contains("21211"), "{m}");
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(
        twilio.requests().len(),
        1,
        "a permanent failure is never retried"
    );
    assert_eq!(messages(&s.app, "status=failed").await["total"], 1);
}

#[tokio::test]
async fn a_message_is_given_up_after_the_last_attempt() {
    let (twilio, base) = fake_twilio().await;
    for _ in 0..5 {
        twilio.then(
            503,
            json!({"code": 20503, "message": "Service unavailable"}),
        );
    }
    let s = twilio_service(&base, &["--send-max-attempts", "3"]).await;
    deliver(&s.app, opinion_event("o1")).await;
    let page = settled(&s.app, "to=resto").await;
    let m = &page["result"][0];
    assert_eq!(m["status"], "failed", "{m}");
    assert_eq!(m["attempts"], 3);
    assert!(
        m["error"]
            .as_str()
            .unwrap()
            .starts_with("gave up after 3 attempts"),
        "{m}"
    );
    assert_eq!(twilio.requests().len(), 3);
}

#[tokio::test]
async fn pending_messages_survive_a_restart() {
    let (twilio, base) = fake_twilio().await;
    // Long retries: the message is still pending when the service stops.
    for _ in 0..3 {
        twilio.then(
            503,
            json!({"code": 20503, "message": "Service unavailable"}),
        );
    }
    let s = twilio_service(
        &base,
        &[
            "--send-retry-base-ms",
            "60000",
            "--send-retry-max-secs",
            "60",
        ],
    )
    .await;
    deliver(&s.app, opinion_event("o1")).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while twilio.requests().is_empty() {
        assert!(std::time::Instant::now() < deadline, "no attempt was made");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(messages(&s.app, "").await["result"][0]["status"], "pending");
    let Service { dir, app, .. } = s;
    drop(app);
    // The same data directory, a Twilio that answers, and the pending message is due again.
    let conn = rusqlite::Connection::open(dir.path().join(communications::DB_FILE)).unwrap();
    conn.execute("UPDATE messages SET next_attempt_at = 0", [])
        .unwrap();
    twilio.script.lock().unwrap().clear();
    let config = config(
        dir.path(),
        "http://127.0.0.1:1",
        &[
            "--messenger",
            "twilio",
            "--twilio-base-url",
            &base,
            "--twilio-account-sid",
            SID,
            "--twilio-auth-token",
            AUTH,
            "--twilio-from",
            "+15005550006",
        ],
    );
    let app = communications::app(communications::State::open(&config).await.unwrap());
    let page = settled(&app, "").await;
    assert_eq!(page["result"][0]["status"], "sent", "{page:#}");
    assert_eq!(page["result"][0]["attempts"], 2);
}
