//! Adapter for an OpenAI-compatible chat-completions API (OpenAI itself, or a self-hosted
//! server such as Ollama, vLLM or llama.cpp that speaks the same protocol).
//!
//! One call per summary: `POST {SUMMARY_API_BASE_URL}/chat/completions` with
//! `Authorization: Bearer {SUMMARY_API_KEY}` (when a key is set) and
//! `{"model": SUMMARY_MODEL, "messages": [system, user]}`. The user message is the original
//! summarizer's prompt (spec §8.1) with every opinion "stuffed" in as
//! `opinion from YYYY-MM-DD HH:MM:SS: text`, newest first, up to [`PROMPT_BUDGET_CHARS`]
//! (so one call replaces the original's map-reduce of one call per opinion). The answer's
//! `choices[0].message.content` is the summary; nothing else of the answer is read, so servers
//! that omit `id`, `usage` or `created` work too. No `temperature` or token limit is sent:
//! some models refuse any but their defaults, and the text is cut to size afterwards.
//!
//! Any failure — no connection, no answer within `SUMMARY_TIMEOUT_SECS`, a non-2xx status, a
//! body that is not a chat completion, an empty text — is an [`EngineError`]; the service then
//! falls back to the extractive engine. There are no retries here: the next trigger retries.

use std::time::Duration;

use chefcito::config::Secret;
use serde::{Deserialize, Serialize};

use super::{Engine, EngineError, Input, Summarizing, cut};

/// Characters of opinion text sent in one prompt; older opinions beyond it are left out.
pub const PROMPT_BUDGET_CHARS: usize = 12_000;
/// A single opinion longer than this is cut, so that one essay does not fill the prompt.
pub const OPINION_CHARS: usize = 1_000;

/// The original summarizer's prompt (spec §8.1), without its indentation.
const PROMPT_HEAD: &str =
    "A continuacion, hay un conjunto de opiniones sobre un local gastronomico\n";
const PROMPT_TAIL: &str = "\nhace un resumen de no mas de un parrafo y utilizando unicamente lenguaje coloquial y sencillo\nde las opiniones anteriores, deberias tomar en cuenta la fecha de las mismas y darle mayor importancia\na las opiniones mas recientes.\n";
/// Chat models like to add a title or a preamble; the summary is shown as is.
const SYSTEM: &str = "Respondé solo con el resumen: un único párrafo de texto plano en español, sin títulos, listas ni comillas.";

/// How the adapter reaches the API.
#[derive(Debug, Clone)]
pub struct Settings {
    /// E.g. `https://api.openai.com/v1` or `http://ollama:11434/v1`.
    pub base_url: String,
    pub model: String,
    pub key: Option<Secret>,
    /// For the whole call: connecting, sending, the model's thinking and reading the answer.
    pub timeout: Duration,
}

/// The OpenAI-compatible adapter.
#[derive(Debug)]
pub struct OpenAi {
    http: reqwest::Client,
    url: String,
    model: String,
    key: Option<Secret>,
}

#[derive(Serialize)]
struct Request<'a> {
    model: &'a str,
    messages: [Message<'a>; 2],
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct Completion {
    choices: Vec<Choice>,
}

#[derive(Deserialize)]
struct Choice {
    message: Answer,
}

#[derive(Deserialize)]
struct Answer {
    #[serde(default)]
    content: Option<String>,
}

#[derive(Deserialize)]
struct ErrorBody {
    error: ErrorDetail,
}

#[derive(Deserialize)]
struct ErrorDetail {
    message: String,
}

impl OpenAi {
    pub fn new(settings: Settings) -> anyhow::Result<OpenAi> {
        let base = settings.base_url.trim().trim_end_matches('/');
        let parsed = reqwest::Url::parse(base)
            .map_err(|e| anyhow::anyhow!("SUMMARY_API_BASE_URL {base:?} is not a URL: {e}"))?;
        if parsed.cannot_be_a_base() || !matches!(parsed.scheme(), "http" | "https") {
            anyhow::bail!("SUMMARY_API_BASE_URL {base:?} must be an http:// or https:// URL");
        }
        if settings.model.trim().is_empty() {
            anyhow::bail!("SUMMARY_MODEL is required with SUMMARY_API_BASE_URL");
        }
        let http = reqwest::Client::builder()
            .connect_timeout(settings.timeout.min(Duration::from_secs(5)))
            .timeout(settings.timeout)
            .user_agent(concat!("chefcito-summaries/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(OpenAi {
            http,
            url: format!("{base}/chat/completions"),
            model: settings.model.trim().to_string(),
            key: settings.key.filter(|k| !k.expose().is_empty()),
        })
    }

    async fn complete(&self, input: &Input) -> Result<Option<String>, EngineError> {
        if input.opinions.is_empty() {
            return Ok(None);
        }
        let prompt = prompt(input);
        let body = Request {
            model: &self.model,
            messages: [
                Message {
                    role: "system",
                    content: SYSTEM,
                },
                Message {
                    role: "user",
                    content: &prompt,
                },
            ],
        };
        let mut request = self.http.post(&self.url).json(&body);
        if let Some(key) = &self.key {
            request = request.bearer_auth(key.expose());
        }
        let response = request.send().await.map_err(transport)?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(transport)?;
        if !status.is_success() {
            let message = serde_json::from_slice::<ErrorBody>(&bytes)
                .map(|e| e.error.message)
                .unwrap_or_else(|_| String::from_utf8_lossy(&bytes).into_owned());
            return Err(EngineError::Status {
                status: status.as_u16(),
                message: cut(message.trim(), 200),
            });
        }
        let completion: Completion = serde_json::from_slice(&bytes)
            .map_err(|e| EngineError::Garbage(cut(&e.to_string(), 200)))?;
        let text = completion
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .filter(|t| !t.trim().is_empty())
            .ok_or_else(|| EngineError::Garbage("no text in choices[0].message.content".into()))?;
        Ok(Some(text))
    }
}

impl Engine for OpenAi {
    fn name(&self) -> &'static str {
        "openai"
    }

    fn summarize<'a>(&'a self, input: &'a Input) -> Summarizing<'a> {
        Box::pin(self.complete(input))
    }
}

fn transport(e: reqwest::Error) -> EngineError {
    if e.is_timeout() {
        EngineError::Timeout
    } else {
        // Without the URL's query or credentials: the error text names only host and path.
        EngineError::Transport(cut(&e.without_url().to_string(), 200))
    }
}

/// The user message: the original prompt around the opinions, newest first, within budget.
fn prompt(input: &Input) -> String {
    let mut opinions: Vec<_> = input.opinions.iter().collect();
    opinions.sort_by_key(|o| std::cmp::Reverse(o.date));
    let mut documents = Vec::new();
    let mut used = 0;
    for opinion in opinions {
        let text = cut(opinion.text.trim(), OPINION_CHARS);
        if text.is_empty() {
            continue;
        }
        let document = format!(
            "opinion from {}: {text}",
            opinion.date.naive_utc().format("%Y-%m-%d %H:%M:%S")
        );
        if used + document.len() > PROMPT_BUDGET_CHARS && !documents.is_empty() {
            break;
        }
        used += document.len() + 2;
        documents.push(document);
    }
    format!("{PROMPT_HEAD}{}{PROMPT_TAIL}", documents.join("\n\n"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::Opinion;

    fn at(text: &str) -> chrono::DateTime<chrono::Utc> {
        chefcito::time::parse(text).unwrap()
    }

    #[test]
    fn the_prompt_is_the_original_with_newest_opinions_first() {
        let input = Input {
            venue: "v".into(),
            now: at("2024-10-02T00:00:00Z"),
            opinions: vec![
                Opinion {
                    text: "Vieja".into(),
                    date: at("2024-09-01T10:00:00Z"),
                },
                Opinion {
                    text: " Nueva ".into(),
                    date: at("2024-10-01T12:34:56Z"),
                },
            ],
        };
        assert_eq!(
            prompt(&input),
            "A continuacion, hay un conjunto de opiniones sobre un local gastronomico\n\
             opinion from 2024-10-01 12:34:56: Nueva\n\n\
             opinion from 2024-09-01 10:00:00: Vieja\n\
             hace un resumen de no mas de un parrafo y utilizando unicamente lenguaje coloquial y sencillo\n\
             de las opiniones anteriores, deberias tomar en cuenta la fecha de las mismas y darle mayor importancia\n\
             a las opiniones mas recientes.\n"
        );
    }

    #[test]
    fn the_prompt_keeps_within_its_budget() {
        let input = Input {
            venue: "v".into(),
            now: at("2024-10-02T00:00:00Z"),
            opinions: (0..100)
                .map(|i| Opinion {
                    text: format!("{i} {}", "x".repeat(5000)),
                    date: at("2024-10-01T00:00:00Z") - chrono::Duration::hours(i),
                })
                .collect(),
        };
        let prompt = prompt(&input);
        assert!(
            prompt.len() < PROMPT_BUDGET_CHARS + 1000,
            "{}",
            prompt.len()
        );
        assert!(prompt.contains("opinion from 2024-10-01 00:00:00: 0 x"));
        assert!(!prompt.contains(": 99 x"));
    }

    #[test]
    fn settings_are_checked() {
        let settings = |base: &str, model: &str| Settings {
            base_url: base.into(),
            model: model.into(),
            key: None,
            timeout: Duration::from_secs(1),
        };
        assert!(OpenAi::new(settings("http://127.0.0.1:9/v1/", "m")).is_ok());
        assert_eq!(
            OpenAi::new(settings("http://127.0.0.1:9/v1/", "m"))
                .unwrap()
                .url,
            "http://127.0.0.1:9/v1/chat/completions"
        );
        assert!(OpenAi::new(settings("ftp://x/v1", "m")).is_err());
        assert!(OpenAi::new(settings("not a url", "m")).is_err());
        assert!(OpenAi::new(settings("http://x/v1", " ")).is_err());
    }
}
