//! The original's communications tests (spec §9), ported.

use serde_json::json;

use crate::common::*;

/// `test_number.test_stored_user_can_be_recovered` and
/// `services/test_communications.test_user_number_base`: store then get returns the same
/// user and number (normalised at storage now).
#[tokio::test]
async fn test_stored_user_can_be_recovered() {
    let s = service().await;
    let stored = set_phone(&s.app, "SomeLocalId", "+5491122334455").await;
    let read = get(&s.app, "/users/SomeLocalId/phone").await;
    assert_eq!(read.status, 200);
    assert_eq!(read.body, json!({"user": "SomeLocalId", "phone": stored}));
    assert_eq!(stored, "+5491122334455");
}

/// `test_number.test_sending_message_to_a_user`: after storing the user, the messenger is
/// handed the message and the stored number unchanged.
#[tokio::test]
async fn test_sending_message_to_a_user() {
    let s = service().await;
    let stored = set_phone(&s.app, "SomeLocalId", "+5491122334455").await;
    let answer = post(
        &s.app,
        "/messages",
        json!({"user": "SomeLocalId", "message": "Hola, este es un mensaje"}),
    )
    .await;
    assert_eq!(answer.status, 200, "{answer:?}");
    let page = settled(&s.app, "to=SomeLocalId").await;
    let m = &page["result"][0];
    assert_eq!(m["phone"], stored);
    assert_eq!(m["body"], "Hola, este es un mensaje");
    assert_eq!(m["status"], "sent");
}

/// `test_number.test_user_converts_itself_to_the_schema`: `{localid, number}` is one row of
/// the numbers table keyed by the uid.
#[tokio::test]
async fn test_user_converts_itself_to_the_schema() {
    let s = service().await;
    set_phone(&s.app, "SomeLocalId", "1122334455").await;
    let conn = rusqlite::Connection::open(s.dir.path().join(communications::DB_FILE)).unwrap();
    let row: (String, String) = conn
        .query_row("SELECT uid, phone FROM phones", [], |r| {
            Ok((r.get(0)?, r.get(1)?))
        })
        .unwrap();
    assert_eq!(row, ("SomeLocalId".into(), "+5491122334455".into()));
}

/// The original's "+549" rule gave `+549+541122334455` for `+541122334455` and
/// `+5495491122…` for `5491122…` (§5.3); both are the same mobile now.
#[tokio::test]
async fn numbers_the_original_broke_are_normalised() {
    let s = service().await;
    assert_eq!(
        set_phone(&s.app, "a", "+541122334455").await,
        "+5491122334455"
    );
    assert_eq!(
        set_phone(&s.app, "b", "5491122334455").await,
        "+5491122334455"
    );
    assert_eq!(set_phone(&s.app, "c", "1122334455").await, "+5491122334455");
}
