//! Inline SVG charts for the HTML reports: no scripts, no external assets, readable
//! when printed (dark bars on white, every value written next to its bar). Labels are
//! escaped here, since the SVG reaches the page as markup.

use std::fmt::Write as _;

/// One bar: a label and its value.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Bar {
    /// What it counts.
    pub label: String,
    /// How many (or how much).
    pub value: u64,
    /// The value as printed (`1,204`, `3.2 MB`).
    pub shown: String,
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

const WIDTH: u32 = 640;
const BAR: &str = "#33557f";
const TEXT: &str = "#1a1a1a";

/// Horizontal bars, one row per label: for categories (statuses, priorities, channels,
/// requests per kind).
pub fn bars(title: &str, bars: &[Bar]) -> String {
    let row = 22u32;
    let label_width = 170u32;
    let value_width = 170u32;
    let height = row * bars.len().max(1) as u32 + 8;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let span = WIDTH - label_width - value_width;
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"{title}\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\"><title>{title}</title>",
        title = escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = 4 + row * i as u32;
        let length = ((bar.value as f64 / max as f64) * f64::from(span)).round() as u32;
        let _ = write!(
            svg,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\" font-size=\"12\" fill=\"{TEXT}\">{}</text>\
             <rect x=\"{label_width}\" y=\"{}\" width=\"{}\" height=\"{}\" fill=\"{BAR}\"></rect>\
             <text x=\"{}\" y=\"{}\" font-size=\"12\" fill=\"{TEXT}\">{}</text>",
            label_width - 6,
            y + 14,
            escape(&bar.label),
            y + 3,
            length.max(1),
            row - 6,
            label_width + length + 6,
            y + 14,
            escape(&bar.shown)
        );
    }
    svg.push_str("</svg>");
    svg
}

/// Vertical columns in order, for a time series (tickets per month); labels are shown
/// under the first, the last and every sixth column.
pub fn columns(title: &str, bars: &[Bar]) -> String {
    let height = 180u32;
    let plot = 130u32;
    let left = 40u32;
    let n = bars.len().max(1) as u32;
    // At most 40 px a column, so a short series does not fill the page.
    let step = ((WIDTH - left - 10) / n).clamp(2, 42);
    let width = step.saturating_sub(2).max(1);
    let highest = bars.iter().max_by_key(|b| b.value);
    let max = highest.map(|b| b.value).unwrap_or(0).max(1);
    let mut svg = format!(
        "<svg role=\"img\" aria-label=\"{title}\" width=\"{WIDTH}\" height=\"{height}\" viewBox=\"0 0 {WIDTH} {height}\"><title>{title}</title>\
         <text x=\"{left}\" y=\"8\" font-size=\"11\" fill=\"{TEXT}\">highest: {}</text>\
         <line x1=\"{left}\" y1=\"{}\" x2=\"{WIDTH}\" y2=\"{}\" stroke=\"{TEXT}\" stroke-width=\"1\"></line>",
        escape(highest.map(|b| b.shown.as_str()).unwrap_or("0")),
        plot + 10,
        plot + 10,
        title = escape(title)
    );
    for (i, bar) in bars.iter().enumerate() {
        let x = left + step * i as u32;
        let h = ((bar.value as f64 / max as f64) * f64::from(plot)).round() as u32;
        let _ = write!(
            svg,
            "<rect x=\"{x}\" y=\"{}\" width=\"{width}\" height=\"{}\" fill=\"{BAR}\"><title>{}: {}</title></rect>",
            plot + 10 - h.max(1),
            h.max(1),
            escape(&bar.label),
            escape(&bar.shown)
        );
        if i == 0 || i + 1 == bars.len() || i % 6 == 0 {
            let _ = write!(
                svg,
                "<text x=\"{x}\" y=\"{}\" font-size=\"10\" fill=\"{TEXT}\">{}</text>",
                plot + 26,
                escape(&bar.label)
            );
        }
    }
    svg.push_str("</svg>");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bar(label: &str, value: u64) -> Bar {
        Bar {
            label: label.into(),
            value,
            shown: value.to_string(),
        }
    }

    #[test]
    fn labels_are_escaped_and_the_longest_bar_spans_the_plot() {
        let svg = bars("By <status>", &[bar("open & new", 10), bar("solved", 5)]);
        assert!(svg.contains("By &lt;status&gt;"));
        assert!(svg.contains(">open &amp; new</text>"));
        assert!(svg.contains("width=\"300\""), "{svg}");
        assert!(svg.contains("width=\"150\""), "{svg}");
        assert!(!svg.contains("<script") && !svg.contains("href"));
    }

    #[test]
    fn columns_label_the_ends() {
        let months: Vec<Bar> = (1..=12).map(|m| bar(&format!("2024-{m:02}"), m)).collect();
        let svg = columns("Tickets per month", &months);
        assert_eq!(svg.matches("<rect").count(), 12);
        assert!(svg.contains(">2024-01</text>") && svg.contains(">2024-12</text>"));
    }
}
