//! `POST /events`: each trigger's exact text to the right recipient, exactly once per event id.

use std::sync::atomic::Ordering;

use serde_json::json;

use crate::common::*;

/// A service where the diner and the venue both have numbers.
async fn with_numbers() -> Service {
    let s = service().await;
    set_phone(&s.app, "diner", "11 5555-0000").await;
    set_phone(&s.app, "resto", "011 15 4444-1111").await;
    s
}

#[tokio::test]
async fn a_new_reservation_tells_the_diner_and_the_venue() {
    let s = with_numbers().await;
    assert_eq!(
        deliver(&s.app, status_event("e1", None, "Uncomfirmed")).await,
        "applied"
    );
    let page = settled(&s.app, "").await;
    // 00:30 UTC on the 16th is the evening of the 15th in Buenos Aires.
    assert_eq!(
        summary(&page),
        [
            (
                "diner".into(),
                "sent".into(),
                "Tu reserva para el dia 2025-06-15 fue creada con exito!".into()
            ),
            (
                "resto".into(),
                "sent".into(),
                "Crearon una nueva reserva para el dia 2025-06-15, podes verla agregada en la web!"
                    .into()
            ),
        ]
    );
    let diner = &page["result"][1];
    assert_eq!(diner["phone"], "+5491155550000");
    assert_eq!(diner["trigger"], "reservation.status");
    assert_eq!(diner["event"], "e1");
    assert_eq!(diner["provider_id"], "outbox");
    assert_eq!(diner["attempts"], 1);
    assert_eq!(page["result"][0]["phone"], "+5491144441111");
    assert_eq!(s.venues.calls(), 0, "creation texts need no venue name");
}

#[tokio::test]
async fn each_status_change_tells_the_venue_then_the_diner() {
    let s = with_numbers().await;
    let statuses = [
        (
            "Uncomfirmed",
            "Accepted",
            "La reserva fue aceptada por el local!",
        ),
        (
            "Accepted",
            "Assisted",
            "Esperamos que disfrutes tu experiencia ! No te olvides de dejar una reseña luego.",
        ),
        ("Accepted", "Expired", "Tu reserva a expirado!"),
        ("Uncomfirmed", "Canceled", "Tu reserva a sido cancelada."),
        (
            "Accepted",
            "Uncomfirmed",
            "La reserva aun no esta confirmada",
        ),
    ];
    for (i, (from, to, status_text)) in statuses.into_iter().enumerate() {
        let id = format!("e{i}");
        assert_eq!(
            deliver(&s.app, status_event(&id, Some(from), to)).await,
            "applied"
        );
        let venue = settled(&s.app, "to=resto&limit=1").await;
        assert_eq!(
            venue["result"][0]["body"],
            "Tienes una modeficacion en la reserva (r-42): del dia 2025-06-15!\nPodes ver las modificaciones de la reserva en la web"
        );
        let diner = settled(&s.app, "to=diner&limit=1").await;
        assert_eq!(
            diner["result"][0]["body"],
            format!("Tienes un cambio de estado en tu reserva en La Cantina!\n{status_text}"),
            "{from} -> {to}"
        );
        assert_eq!(diner["result"][0]["status"], "sent");
        // The venue's message was created first.
        assert!(venue["result"][0]["id"].as_i64() < diner["result"][0]["id"].as_i64());
    }
    assert_eq!(messages(&s.app, "").await["total"], 10);
    assert_eq!(
        s.venues.token.lock().unwrap().as_deref(),
        Some(TOKEN),
        "the internal token travels to the venues service"
    );
}

#[tokio::test]
async fn a_new_opinion_tells_the_venue() {
    let s = with_numbers().await;
    assert_eq!(deliver(&s.app, opinion_event("o1")).await, "applied");
    let page = settled(&s.app, "").await;
    assert_eq!(
        summary(&page),
        [(
            "resto".into(),
            "sent".into(),
            "Tenes una nueva opinion en tu local!\nPodes revisarla en nuestra web".into()
        )]
    );
}

#[tokio::test]
async fn an_event_delivered_twice_sends_one_message() {
    let s = with_numbers().await;
    let event = status_event("e1", Some("Accepted"), "Assisted");
    assert_eq!(deliver(&s.app, event.clone()).await, "applied");
    for _ in 0..3 {
        assert_eq!(deliver(&s.app, event.clone()).await, "duplicate");
    }
    assert_eq!(deliver(&s.app, opinion_event("o1")).await, "applied");
    assert_eq!(deliver(&s.app, opinion_event("o1")).await, "duplicate");
    let page = settled(&s.app, "").await;
    assert_eq!(page["total"], 3);
    assert_eq!((s.rows("messages"), s.rows("inbox")), (3, 2));
    assert_eq!(
        s.venues.calls(),
        1,
        "a redelivery asks nothing of the venues service"
    );
}

#[tokio::test]
async fn concurrent_redeliveries_still_send_once() {
    let s = with_numbers().await;
    let event = opinion_event("o1");
    let tasks: Vec<_> = (0..8)
        .map(|_| {
            let (app, event) = (s.app.clone(), event.clone());
            tokio::spawn(async move { deliver(&app, event).await })
        })
        .collect();
    let mut outcomes = Vec::new();
    for t in tasks {
        outcomes.push(t.await.unwrap());
    }
    assert_eq!(
        outcomes.iter().filter(|o| *o == "applied").count(),
        1,
        "{outcomes:?}"
    );
    assert_eq!(s.rows("messages"), 1);
}

#[tokio::test]
async fn users_without_a_number_get_nothing() {
    let s = service().await;
    set_phone(&s.app, "resto", "").await;
    // `diner` never stored a number, `resto` stored "".
    assert_eq!(
        deliver(&s.app, status_event("e1", Some("Uncomfirmed"), "Accepted")).await,
        "applied"
    );
    let page = messages(&s.app, "").await;
    assert_eq!(page["total"], 2);
    for m in page["result"].as_array().unwrap() {
        assert_eq!(m["status"], "skipped", "{m}");
        assert_eq!(m["phone"], "");
        assert_eq!(m["attempts"], 0);
        assert!(m["finished_at"].is_string());
    }
    assert_eq!(
        s.venues.calls(),
        0,
        "no name is needed for a message nobody receives"
    );
}

#[tokio::test]
async fn a_venue_service_failure_delays_the_event() {
    let s = with_numbers().await;
    s.venues.down.store(true, Ordering::SeqCst);
    let event = status_event("e1", Some("Uncomfirmed"), "Accepted");
    let answer = post(&s.app, "/events", event.clone()).await;
    assert_eq!(answer.status, 502, "{answer:?}");
    assert_eq!(
        (s.rows("messages"), s.rows("inbox")),
        (0, 0),
        "nothing is recorded"
    );
    // The producer's outbox delivers it again once the venues service is back.
    s.venues.down.store(false, Ordering::SeqCst);
    assert_eq!(deliver(&s.app, event).await, "applied");
    let diner = settled(&s.app, "to=diner").await;
    assert!(
        diner["result"][0]["body"]
            .as_str()
            .unwrap()
            .contains("en La Cantina!")
    );
}

#[tokio::test]
async fn an_unknown_venue_is_named_el_local() {
    let s = with_numbers().await;
    let mut event = status_event("e1", Some("Accepted"), "Canceled");
    event["payload"]["venue"] = json!("gone");
    assert_eq!(deliver(&s.app, event).await, "applied");
    let diner = settled(&s.app, "to=diner").await;
    assert_eq!(
        diner["result"][0]["body"],
        "Tienes un cambio de estado en tu reserva en el local!\nTu reserva a sido cancelada."
    );
    // The venue `gone` has no number: its message is skipped.
    assert_eq!(
        messages(&s.app, "to=gone").await["result"][0]["status"],
        "skipped"
    );
}

#[tokio::test]
async fn the_previous_time_names_the_old_date_when_the_producer_sends_it() {
    let s = with_numbers().await;
    let mut event = status_event("e1", Some("Accepted"), "Uncomfirmed");
    event["payload"]["previous_time"] = json!("2025-06-20T23:00:00Z");
    deliver(&s.app, event).await;
    let venue = messages(&s.app, "to=resto").await;
    assert!(
        venue["result"][0]["body"]
            .as_str()
            .unwrap()
            .contains("del dia 2025-06-20!")
    );
}

#[tokio::test]
async fn the_date_offset_is_configurable() {
    let s = service_with(&["--date-offset-minutes", "0"]).await;
    set_phone(&s.app, "diner", "11 5555-0000").await;
    deliver(&s.app, status_event("e1", None, "Uncomfirmed")).await;
    let diner = messages(&s.app, "to=diner").await;
    assert_eq!(
        diner["result"][0]["body"],
        "Tu reserva para el dia 2025-06-16 fue creada con exito!"
    );
}

#[tokio::test]
async fn unknown_topics_are_ignored() {
    let s = with_numbers().await;
    let event = json!({"id": "x1", "topic": "venue.closed", "payload": {"venue": "resto"}});
    assert_eq!(deliver(&s.app, event).await, "ignored");
    assert_eq!((s.rows("messages"), s.rows("inbox")), (0, 0));
}

#[tokio::test]
async fn malformed_events_are_422_and_can_come_again_fixed() {
    let s = with_numbers().await;
    let mut event = status_event("e1", None, "Uncomfirmed");
    event["payload"]["to"] = json!("Cancelled");
    assert_refused(
        &post(&s.app, "/events", event).await,
        422,
        "unknown variant `Cancelled`",
    );
    let mut event = status_event("e1", None, "Uncomfirmed");
    event["payload"]["user"] = json!("user/diner");
    assert_refused(&post(&s.app, "/events", event).await, 422, "`user`");
    assert_refused(
        &post(
            &s.app,
            "/events",
            json!({"id": "e1", "topic": "reservation.status"}),
        )
        .await,
        422,
        "missing field `payload`",
    );
    assert_eq!((s.rows("messages"), s.rows("inbox")), (0, 0));
    assert_eq!(
        deliver(&s.app, status_event("e1", None, "Uncomfirmed")).await,
        "applied"
    );
}
