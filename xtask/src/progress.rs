//! Progress lines (indicatif) and the colours of prefixed log lines.

use std::io::IsTerminal;
use std::time::Duration;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

/// One spinner line per item, `name` as its prefix.
pub fn line(multi: &MultiProgress, name: &str, width: usize) -> ProgressBar {
    let bar = multi.add(ProgressBar::new_spinner());
    let style = ProgressStyle::with_template("{spinner:.cyan} {prefix:.bold}  {wide_msg}")
        .unwrap_or_else(|_| ProgressStyle::default_spinner());
    bar.set_style(style);
    bar.set_prefix(format!("{name:width$}"));
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Ends a line with a final message (kept on screen).
pub fn finish(bar: &ProgressBar, ok: bool, message: String) {
    let mark = if ok { paint(2, "✓") } else { paint(1, "✗") };
    bar.set_style(
        ProgressStyle::with_template(&format!("{mark} {{prefix:.bold}}  {{wide_msg}}"))
            .unwrap_or_else(|_| ProgressStyle::default_spinner()),
    );
    if bar.is_hidden() {
        // Not a terminal (CI, a pipe): indicatif draws nothing, so say it plainly.
        println!("{mark} {}  {message}", bar.prefix());
    }
    bar.finish_with_message(message);
}

fn colour_enabled() -> bool {
    std::env::var_os("NO_COLOR").is_none() && std::io::stdout().is_terminal()
}

/// `text` in ANSI colour `n` (1 red, 2 green, 3 yellow, 4 blue, 5 magenta, 6 cyan), or plain
/// when stdout is not a terminal or `NO_COLOR` is set.
pub fn paint(n: usize, text: &str) -> String {
    if colour_enabled() {
        format!("\x1b[{}m{text}\x1b[0m", 30 + n)
    } else {
        text.to_string()
    }
}

/// The coloured `name | ` prefix of a service's log lines; the colour is stable per index.
pub fn log_prefix(index: usize, name: &str, width: usize) -> String {
    const COLOURS: [usize; 6] = [6, 3, 2, 5, 4, 1];
    paint(COLOURS[index % COLOURS.len()], &format!("{name:width$} |"))
}
/// Prints one line of a service's output with its prefix.
pub fn print_line(index: usize, name: &str, width: usize, line: &str) {
    println!(
        "{} {}",
        log_prefix(index, name, width),
        line.trim_end_matches(['\r', '\n'])
    );
}
