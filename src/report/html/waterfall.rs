//! A run's waterfall as inline SVG, like the other charts: one row per request, its label above
//! its bar so long paths fit on a phone; the TLS handshake that opened its connection hatched
//! in a light colour, the wait for the answer (head to first byte) and the response (first byte
//! to end) in the palette's colours; a time axis below. A screen reader gets every row in the
//! description.

use super::chart::linear_ticks;
use crate::report::waterfall::{duration, Waterfall};
use maud::{html, Markup};

const WIDTH: f64 = 400.0;

fn number(value: f64) -> String {
    format!("{value:.1}")
}

/// The waterfall of one run, `id` unique in the page.
pub fn waterfall(id: &str, title: &str, waterfall: &Waterfall) -> Markup {
    let (left, right, top, row) = (8.0, WIDTH - 16.0, 6.0, 26.0);
    let rows = waterfall.rows.len() as f64;
    let axis_y = top + row * rows + 2.0;
    let height = axis_y + 32.0;
    let span = waterfall.span().max(1e-9);
    let ticks = linear_ticks(span);
    let scale_end = ticks.last().copied().unwrap_or(span).max(span);
    let x = |at: f64| left + (at - waterfall.start) / scale_end * (right - left);
    let description = waterfall
        .rows
        .iter()
        .map(|request| {
            let tls = request
                .handshake
                .map(|(start, end)| format!("TLS handshake {}, then ", duration(end - start)))
                .unwrap_or_default();
            format!(
                "{} on connection {}: {tls}in flight from {} to {} ({})",
                request.label,
                request.connection,
                duration(request.head - waterfall.start),
                duration(request.done() - waterfall.start),
                duration(request.done() - request.head)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        svg.chart.waterfall id=(id) viewBox={"0 0 " (WIDTH) " " (number(height))} role="img"
            aria-labelledby={(id) "-title " (id) "-desc"} {
            title id={(id) "-title"} { (title) }
            desc id={(id) "-desc"} { (waterfall.summary) ". " (description) }
            @for tick in &ticks {
                line.grid x1=(number(x(waterfall.start + tick))) x2=(number(x(waterfall.start + tick)))
                    y1=(number(top)) y2=(number(axis_y)) {}
                text.tick x=(number(x(waterfall.start + tick))) y=(number(axis_y + 13.0))
                    text-anchor="middle" { (duration(*tick)) }
            }
            @for (index, request) in waterfall.rows.iter().enumerate() {
                @let y = top + row * index as f64;
                text.label x=(number(left)) y=(number(y + 9.0)) {
                    (request.label) tspan.connection { " · #" (request.connection) }
                }
                @if let Some((start, end)) = request.handshake {
                    rect.tls x=(number(x(start))) y=(number(y + 12.0))
                        width=(number((x(end) - x(start)).max(1.0))) height="10" {}
                }
                @let answered = request.first_byte.unwrap_or(request.done());
                rect.wait x=(number(x(request.head))) y=(number(y + 12.0))
                    width=(number((x(answered) - x(request.head)).max(1.5))) height="10" {}
                @if request.done() > answered {
                    rect.send x=(number(x(answered))) y=(number(y + 12.0))
                        width=(number((x(request.done()) - x(answered)).max(1.0))) height="10" {}
                }
            }
            line.axis x1=(number(left)) x2=(number(right)) y1=(number(axis_y)) y2=(number(axis_y)) {}
            text.axis-label x=(number((left + right) / 2.0)) y=(number(height - 4.0))
                text-anchor="middle" { "time since the first connection" }
        }
        @if waterfall.more > 0 {
            p.legend-note { "… and " (waterfall.more) " more requests, each in the results document." }
        }
    }
}

/// The legend shared by every waterfall of a page.
pub fn legend() -> Markup {
    html! {
        ul.legend.waterfall-legend {
            li { svg.swatch viewBox="0 0 24 10" width="24" height="10" aria-hidden="true" { rect.tls x="0" y="0" width="24" height="10" {} } " TLS handshake" }
            li { svg.swatch viewBox="0 0 24 10" width="24" height="10" aria-hidden="true" { rect.wait x="0" y="0" width="24" height="10" {} } " waiting for the answer (head to first byte)" }
            li { svg.swatch viewBox="0 0 24 10" width="24" height="10" aria-hidden="true" { rect.send x="0" y="0" width="24" height="10" {} } " response being written" }
        }
    }
}
