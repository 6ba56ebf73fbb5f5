//! How the demo talks: numbered steps, the commands they ran, the state they
//! produced and each expectation met or missed. Colour only on a terminal.

use super::world::Ran;
use std::io::Write;

/// Plain ANSI styles (no crate needed for five codes).
#[derive(Debug, Clone, Copy)]
enum Style {
    Bold,
    Dim,
    Green,
    Red,
    Cyan,
}

impl Style {
    fn code(self) -> &'static str {
        match self {
            Style::Bold => "1",
            Style::Dim => "2",
            Style::Green => "32",
            Style::Red => "31",
            Style::Cyan => "36",
        }
    }
}

/// One expectation that was missed.
#[derive(Debug, Clone)]
pub struct Miss {
    /// The step it belongs to.
    pub step: String,
    /// What was expected.
    pub expected: String,
    /// What was seen instead.
    pub seen: String,
}

/// The demo's output and its tally of expectations.
pub struct Show<'a> {
    out: &'a mut dyn Write,
    color: bool,
    step: usize,
    title: String,
    /// Expectations met.
    pub met: usize,
    /// Expectations missed.
    pub missed: Vec<Miss>,
}

impl<'a> Show<'a> {
    /// Writes to `out`, with ANSI colour when `color`.
    pub fn new(out: &'a mut dyn Write, color: bool) -> Show<'a> {
        Show {
            out,
            color,
            step: 0,
            title: String::new(),
            met: 0,
            missed: Vec::new(),
        }
    }

    fn paint(&self, style: Style, text: &str) -> String {
        if self.color {
            format!("\x1b[{}m{text}\x1b[0m", style.code())
        } else {
            text.to_string()
        }
    }

    /// Writes one line (output errors are ignored: the tally still decides the exit).
    pub fn line(&mut self, text: &str) {
        let _ = writeln!(self.out, "{text}");
    }

    /// A dimmed note.
    pub fn note(&mut self, text: &str) {
        let painted = self.paint(Style::Dim, text);
        self.line(&painted);
    }

    /// Starts step N with a title.
    pub fn step(&mut self, title: &str) {
        self.step += 1;
        self.title = title.to_string();
        let head = self.paint(Style::Bold, &format!("{:>2}. {title}", self.step));
        self.line("");
        self.line(&head);
    }

    /// Shows a command and (indented) up to `max_lines` of its output.
    pub fn ran(&mut self, ran: &Ran, max_lines: usize) {
        let cmd = self.paint(Style::Cyan, &format!("   $ {}", ran.shown));
        self.line(&cmd);
        let text = if ran.stdout.trim().is_empty() {
            &ran.stderr
        } else {
            &ran.stdout
        };
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        for l in lines.iter().take(max_lines) {
            self.line(&format!("     {l}"));
        }
        if max_lines > 0 && lines.len() > max_lines {
            self.note(&format!("     … {} more lines", lines.len() - max_lines));
        }
        if !ran.ok() {
            let code = ran.code.map_or("a signal".into(), |c| format!("exit {c}"));
            let painted = self.paint(Style::Dim, &format!("     ({code})"));
            self.line(&painted);
        }
    }

    /// Shows the state a step produced.
    pub fn state(&mut self, text: &str) {
        let painted = self.paint(Style::Dim, &format!("   ⇒ {text}"));
        self.line(&painted);
    }

    /// Records an expectation: `seen` explains a miss.
    pub fn expect(&mut self, met: bool, expected: &str, seen: impl Into<String>) -> bool {
        if met {
            self.met += 1;
            let mark = self.paint(Style::Green, "✓");
            self.line(&format!("   {mark} {expected}"));
        } else {
            let seen = seen.into();
            let mark = self.paint(Style::Red, "✗");
            self.line(&format!("   {mark} {expected} — saw: {seen}"));
            self.missed.push(Miss {
                step: format!("{}. {}", self.step, self.title),
                expected: expected.to_string(),
                seen,
            });
        }
        met
    }

    /// Expects two strings to be equal.
    pub fn expect_eq(&mut self, seen: &str, wanted: &str, expected: &str) -> bool {
        self.expect(seen == wanted, expected, format!("`{seen}`"))
    }

    /// The closing summary.
    pub fn summary(&mut self, seconds: f64, world: &str) {
        self.line("");
        if self.missed.is_empty() {
            let text = format!(
                "demo passed: {} expectations met in {} steps ({seconds:.1}s)",
                self.met, self.step
            );
            let painted = self.paint(Style::Green, &text);
            self.line(&painted);
        } else {
            let text = format!(
                "demo FAILED: {} of {} expectations missed",
                self.missed.len(),
                self.met + self.missed.len()
            );
            let painted = self.paint(Style::Red, &text);
            self.line(&painted);
            for miss in self.missed.clone() {
                self.line(&format!(
                    "  step {}: expected {} — saw: {}",
                    miss.step, miss.expected, miss.seen
                ));
            }
        }
        self.note(world);
        let _ = self.out.flush();
    }
}
