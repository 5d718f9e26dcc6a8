//! `containerfiles/<svc>/CONTAINERFILE`: parsed and checked before anything is sent to the
//! engine, so that a mistake is reported with its line instead of as a broken image.
//!
//! The rules follow from how images are built here: the engine has no registry, so `FROM
//! scratch` is the only base; there is no shell, so no `RUN` and only exec-form commands;
//! the service runs as a numeric non-root user (no `/etc/passwd` to resolve a name); its data
//! lives in the `/data` volume; the health check is the binary's own `healthcheck` subcommand.

use anyhow::{Result, bail};

use crate::services::Service;

/// One instruction, continuation lines joined.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instruction {
    pub line: usize,
    pub keyword: String,
    pub args: String,
}

/// What the rest of xtask needs from a valid file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Containerfile {
    pub instructions: Vec<Instruction>,
    /// The numeric `USER`, e.g. `10001:10001`.
    pub user: String,
}

const ALLOWED: &[&str] = &[
    "FROM",
    "COPY",
    "USER",
    "VOLUME",
    "EXPOSE",
    "HEALTHCHECK",
    "ENTRYPOINT",
    "CMD",
    "ENV",
    "LABEL",
    "WORKDIR",
    "STOPSIGNAL",
];

/// Splits the text into instructions (comments and blank lines dropped, `\` continuations
/// joined).
pub fn parse(text: &str) -> Vec<Instruction> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, raw) in text.lines().enumerate() {
        let trimmed = raw.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && pending.is_none()) {
            continue;
        }
        let (start, mut acc) = pending.take().unwrap_or((index + 1, String::new()));
        let (body, continued) = match trimmed.strip_suffix('\\') {
            Some(b) => (b.trim_end(), true),
            None => (trimmed, false),
        };
        if !acc.is_empty() && !body.is_empty() {
            acc.push(' ');
        }
        acc.push_str(body);
        if continued {
            pending = Some((start, acc));
            continue;
        }
        let (keyword, args) = acc.split_once(char::is_whitespace).unwrap_or((&acc, ""));
        out.push(Instruction {
            line: start,
            keyword: keyword.to_uppercase(),
            args: args.trim().to_string(),
        });
    }
    if let Some((start, acc)) = pending {
        let (keyword, args) = acc.split_once(char::is_whitespace).unwrap_or((&acc, ""));
        out.push(Instruction {
            line: start,
            keyword: keyword.to_uppercase(),
            args: args.trim().to_string(),
        });
    }
    out
}

/// A JSON array of strings (exec form), or `None` for the shell form.
fn exec_form(args: &str) -> Option<Vec<String>> {
    serde_json::from_str::<Vec<String>>(args).ok()
}

/// Parses and checks the file of `service`; every problem is reported, each with its line.
pub fn validate(service: &Service, text: &str) -> Result<Containerfile> {
    let instructions = parse(text);
    let name = service.name;
    let binary = format!("/{name}");
    let mut errors = Vec::new();
    let mut user = None;
    let (mut has_volume, mut has_expose, mut has_health, mut has_entry, mut has_copy) =
        (false, false, false, false, false);
    match instructions.first() {
        Some(i) if i.keyword == "FROM" => {}
        Some(i) => errors.push(format!(
            "line {}: the file must start with `FROM scratch`",
            i.line
        )),
        None => errors.push("the file is empty: it must start with `FROM scratch`".into()),
    }
    for i in &instructions {
        let at = format!("line {} ({})", i.line, i.keyword);
        if !ALLOWED.contains(&i.keyword.as_str()) {
            let why = match i.keyword.as_str() {
                "RUN" => "a scratch image has no shell to run commands",
                "ADD" => "use COPY (ADD can download and unpack, which images here must not)",
                "ARG" | "ONBUILD" | "SHELL" => "not needed for a one-binary image",
                _ => "unknown instruction",
            };
            errors.push(format!("{at}: not allowed: {why}"));
            continue;
        }
        match i.keyword.as_str() {
            "FROM" if !i.args.eq_ignore_ascii_case("scratch") => errors.push(format!(
                "{at}: only `FROM scratch` is allowed: the engine has no registry to pull `{}` from",
                i.args
            )),
            "FROM" if i.line != instructions[0].line => {
                errors.push(format!("{at}: one stage only: a second FROM is not allowed"))
            }
            "USER" => {
                let numeric = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
                let (uid, gid) = i.args.split_once(':').unwrap_or((&i.args, "1"));
                if !numeric(uid) || !numeric(gid) {
                    errors.push(format!(
                        "{at}: `{}` must be numeric `uid:gid` (a scratch image has no /etc/passwd)",
                        i.args
                    ));
                } else if uid.trim_start_matches('0').is_empty() {
                    errors.push(format!("{at}: the service must not run as root (uid 0)"));
                } else {
                    user = Some(i.args.clone());
                }
            }
            "VOLUME" => {
                let paths = exec_form(&i.args)
                    .unwrap_or_else(|| i.args.split_whitespace().map(String::from).collect());
                has_volume |= paths.iter().any(|p| p == "/data");
            }
            "EXPOSE" => {
                has_expose |= i
                    .args
                    .split_whitespace()
                    .any(|p| p.trim_end_matches("/tcp") == service.port.to_string());
            }
            "HEALTHCHECK" => {
                let cmd = i.args.split_once("CMD").map(|(_, c)| c.trim());
                match cmd.and_then(exec_form) {
                    Some(argv) if argv == [binary.as_str(), "healthcheck"] => has_health = true,
                    Some(argv) => errors.push(format!(
                        "{at}: the check must be `CMD [\"{binary}\", \"healthcheck\"]`, not {argv:?}"
                    )),
                    None => errors.push(format!(
                        "{at}: use the exec form `CMD [\"{binary}\", \"healthcheck\"]` (no shell in the image)"
                    )),
                }
            }
            "ENTRYPOINT" | "CMD" => match exec_form(&i.args) {
                Some(argv) => has_entry |= i.keyword == "ENTRYPOINT" && argv.first() == Some(&binary),
                None => errors.push(format!("{at}: use the exec form `[\"{binary}\"]` (no shell in the image)")),
            },
            "COPY" => {
                let words: Vec<&str> = i.args.split_whitespace().filter(|w| !w.starts_with("--")).collect();
                if let Some((dest, sources)) = words.split_last() {
                    has_copy |= *dest == binary && sources.contains(&name);
                }
            }
            _ => {}
        }
    }
    let missing = [
        (has_copy, format!("`COPY {name} {binary}` (the binary)")),
        (
            user.is_some(),
            "a numeric non-root `USER`, e.g. `USER 10001:10001`".to_string(),
        ),
        (has_volume, "`VOLUME /data`".to_string()),
        (
            has_expose,
            format!(
                "`EXPOSE {}` (the port of {name} in xtask/src/services.rs)",
                service.port
            ),
        ),
        (
            has_health,
            format!("`HEALTHCHECK ... CMD [\"{binary}\", \"healthcheck\"]`"),
        ),
        (has_entry, format!("`ENTRYPOINT [\"{binary}\"]`")),
    ];
    for (present, what) in missing {
        if !present {
            errors.push(format!("missing {what}"));
        }
    }
    if !errors.is_empty() {
        bail!(
            "{} is invalid:\n  - {}",
            crate::paths::containerfile(name).display(),
            errors.join("\n  - ")
        );
    }
    Ok(Containerfile {
        instructions,
        user: user.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::services;

    fn users() -> &'static Service {
        services::get("users").unwrap()
    }

    const GOOD: &str = r#"# comment
FROM scratch
COPY users /users
COPY --chown=10001:10001 data /data
USER 10001:10001
VOLUME /data
EXPOSE 8001
HEALTHCHECK --interval=2s --timeout=2s \
    --start-period=10s CMD ["/users", "healthcheck"]
ENTRYPOINT ["/users"]
"#;

    #[test]
    fn parses_continuations_and_comments() {
        let p = parse(GOOD);
        assert_eq!(p.len(), 8);
        assert_eq!(
            p[0],
            Instruction {
                line: 2,
                keyword: "FROM".into(),
                args: "scratch".into()
            }
        );
        assert_eq!(p[6].line, 8);
        assert!(
            p[6].args
                .ends_with(r#"--start-period=10s CMD ["/users", "healthcheck"]"#),
            "{:?}",
            p[6]
        );
    }

    #[test]
    fn a_good_file_is_valid() {
        let c = validate(users(), GOOD).unwrap();
        assert_eq!(c.user, "10001:10001");
    }

    #[test]
    fn the_shipped_files_are_valid() {
        for s in services::SERVICES {
            let text = std::fs::read_to_string(crate::paths::containerfile(s.name)).unwrap();
            validate(s, &text).unwrap();
        }
    }

    #[test]
    fn only_scratch_is_allowed() {
        let e = validate(users(), &GOOD.replace("FROM scratch", "FROM debian:12"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("only `FROM scratch` is allowed"), "{e}");
        let e = validate(users(), &format!("{GOOD}FROM scratch\n"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("second FROM"), "{e}");
    }

    #[test]
    fn reports_every_problem() {
        let bad = GOOD
            .replace("USER 10001:10001", "USER root")
            .replace(r#"CMD ["/users", "healthcheck"]"#, "CMD /users healthcheck")
            .replace("EXPOSE 8001", "RUN true");
        let e = validate(users(), &bad).unwrap_err().to_string();
        assert!(e.contains("must be numeric"), "{e}");
        assert!(e.contains("exec form"), "{e}");
        assert!(e.contains("no shell to run commands"), "{e}");
        assert!(e.contains("missing `EXPOSE 8001`"), "{e}");
        let e = validate(users(), &GOOD.replace("USER 10001:10001", "USER 0:0"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("must not run as root"), "{e}");
        assert!(validate(users(), "").is_err());
    }
}
