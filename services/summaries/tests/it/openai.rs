//! The OpenAI-compatible adapter against a local server that speaks the protocol, and the
//! fallback to the extractive engine when it fails.

use std::time::Duration;

use chefcito::config::Secret;
use summaries::engine::openai::{OpenAi, Settings};
use summaries::engine::{Engine, EngineError, Input, Opinion};

use crate::common::*;

fn adapter(base_url: &str, key: Option<&str>, timeout: Duration) -> OpenAi {
    OpenAi::new(Settings {
        base_url: base_url.to_string(),
        model: "test-model".into(),
        key: key.map(Secret::new),
        timeout,
    })
    .unwrap()
}

fn input() -> Input {
    Input {
        venue: "v1".into(),
        now: start(),
        opinions: vec![
            Opinion {
                text: "La comida es excelente.".into(),
                date: start() - days(1),
            },
            Opinion {
                text: "El servicio fue lento.".into(),
                date: start() - days(3),
            },
        ],
    }
}

#[tokio::test]
async fn the_adapter_sends_the_model_the_messages_and_the_bearer_key() {
    let chat = FakeChat::start(ChatMode::Answer("Comida excelente, servicio lento.".into())).await;
    let engine = adapter(&chat.base_url, Some("sk-test"), Duration::from_secs(5));
    let text = engine.summarize(&input()).await.unwrap();
    assert_eq!(text.as_deref(), Some("Comida excelente, servicio lento."));
    let requests = chat.requests();
    assert_eq!(requests.len(), 1);
    let (headers, body) = &requests[0];
    assert_eq!(headers["authorization"], "Bearer sk-test");
    assert!(
        headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("application/json")
    );
    assert_eq!(body["model"], "test-model");
    let messages = body["messages"].as_array().unwrap();
    assert_eq!(messages.len(), 2);
    assert_eq!(messages[0]["role"], "system");
    assert_eq!(messages[1]["role"], "user");
    let prompt = messages[1]["content"].as_str().unwrap();
    assert!(
        prompt.starts_with(
            "A continuacion, hay un conjunto de opiniones sobre un local gastronomico\n"
        )
    );
    let newest = prompt
        .find("opinion from 2025-06-14 12:00:00: La comida es excelente.")
        .expect("the newest opinion, dated");
    let older = prompt
        .find("opinion from 2025-06-12 12:00:00: El servicio fue lento.")
        .expect("the older opinion, dated");
    assert!(newest < older, "newest first");
    assert!(prompt.ends_with("a las opiniones mas recientes.\n"));
}

#[tokio::test]
async fn without_a_key_no_authorization_is_sent() {
    let chat = FakeChat::start(ChatMode::Answer("Bien.".into())).await;
    let engine = adapter(&format!("{}/", chat.base_url), None, Duration::from_secs(5));
    assert_eq!(
        engine.summarize(&input()).await.unwrap().as_deref(),
        Some("Bien.")
    );
    assert!(!chat.requests()[0].0.contains_key("authorization"));
}

#[tokio::test]
async fn api_failures_are_engine_errors() {
    let chat = FakeChat::start(ChatMode::Fail).await;
    let engine = adapter(&chat.base_url, Some("k"), Duration::from_secs(1));
    assert_eq!(
        engine.summarize(&input()).await,
        Err(EngineError::Status {
            status: 500,
            message: "The server had an error".into()
        })
    );
    chat.set(ChatMode::Garbage);
    assert!(matches!(
        engine.summarize(&input()).await,
        Err(EngineError::Garbage(_))
    ));
    chat.set(ChatMode::Answer("   ".into()));
    assert!(matches!(
        engine.summarize(&input()).await,
        Err(EngineError::Garbage(_))
    ));
    chat.set(ChatMode::Slow(Duration::from_secs(3)));
    let started = std::time::Instant::now();
    assert_eq!(engine.summarize(&input()).await, Err(EngineError::Timeout));
    assert!(started.elapsed() < Duration::from_millis(2500));
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let nobody = adapter(&format!("http://{closed}/v1"), None, Duration::from_secs(1));
    assert!(matches!(
        nobody.summarize(&input()).await,
        Err(EngineError::Transport(_))
    ));
}

/// The service configured with `SUMMARY_API_BASE_URL`: the API's text is stored.
async fn service_with_api(chat: &FakeChat) -> Service {
    let s = Service::start(Setup {
        engine: None,
        args: &[
            "--summary-api-base-url",
            &chat.base_url,
            "--summary-model",
            "test-model",
            "--summary-api-key",
            "sk-test",
            "--summary-timeout-secs",
            "1",
        ],
    })
    .await;
    s.opinions.add("v1", "La comida es excelente.", s.now());
    s
}

#[tokio::test]
async fn the_service_stores_the_api_s_summary() {
    let chat = FakeChat::start(ChatMode::Answer(
        "Dicen que\nla comida es excelente.".into(),
    ))
    .await;
    let s = service_with_api(&chat).await;
    assert_eq!(
        s.generated("v1").await["text"],
        "Dicen que la comida es excelente."
    );
    assert_eq!(s.engine_of("v1").as_deref(), Some("openai"));
    assert_eq!(chat.requests()[0].0["authorization"], "Bearer sk-test");
}

#[tokio::test]
async fn a_failing_api_falls_back_to_the_extractive_engine() {
    for mode in [
        ChatMode::Fail,
        ChatMode::Garbage,
        ChatMode::Slow(Duration::from_secs(3)),
    ] {
        let chat = FakeChat::start(mode.clone()).await;
        let s = service_with_api(&chat).await;
        let summary = s.generated("v1").await;
        assert_eq!(
            summary["text"], "Resumen de una opinión. La comida es excelente.",
            "{mode:?}"
        );
        assert_eq!(s.engine_of("v1").as_deref(), Some("extractive"), "{mode:?}");
        assert_eq!(
            chat.requests().len(),
            1,
            "{mode:?}: no retry inside one generation"
        );
        // The next regeneration asks the API again.
        chat.set(ChatMode::Answer("Ahora sí.".into()));
        s.clock.advance(days(8));
        assert_eq!(s.generated("v1").await["text"], "Ahora sí.", "{mode:?}");
    }
}
