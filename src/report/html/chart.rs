//! Charts as inline SVG, written by hand: horizontal bars with interval whiskers, and lines
//! (numeric or categorical x axis, linear or logarithmic scales) with whiskers at each point.
//!
//! Hand-written rather than drawn with `plotters`: the SVG is a few dozen elements we control
//! completely, so each chart carries `role="img"`, a `<title>` and a `<desc>` for screen
//! readers, scales with its container through `viewBox` (phone or desktop), takes its colours
//! from the page's CSS (print and colour-blind-safe palette), and costs no dependency;
//! plotters' SVG backend writes fixed pixel sizes and inline styles and has no notion of
//! titles or ARIA.

use maud::{html, Markup};

/// The width of every chart in SVG units; text sizes are chosen for it.
const WIDTH: f64 = 400.0;

/// One bar: a median with its interval.
pub struct Bar {
    pub label: String,
    pub value: f64,
    pub low: f64,
    pub high: f64,
    /// Colour of the bar (`s0`..`s6`), by runtime.
    pub series: usize,
}

/// One line: points along x, each with an interval.
pub struct Series {
    pub name: String,
    pub series: usize,
    /// Dashed lines tell apart machines sharing a colour.
    pub dashed: bool,
    pub points: Vec<LinePoint>,
}

#[derive(Clone, Copy)]
pub struct LinePoint {
    pub x: f64,
    pub y: f64,
    pub low: f64,
    pub high: f64,
}

pub enum XAxis {
    /// Values along x, logarithmic when they span a wide range; ticks at the values given.
    Numeric { label: String, ticks: Vec<f64> },
    /// Named positions (`p50`, `p90`, `p99`); a point's x is its index.
    Categories { label: String, names: Vec<String> },
}

/// A scale from data to SVG units.
struct Scale {
    low: f64,
    high: f64,
    from: f64,
    to: f64,
    log: bool,
}

impl Scale {
    fn new(low: f64, high: f64, from: f64, to: f64, log: bool) -> Self {
        let (low, high) = if log {
            (
                low.max(f64::MIN_POSITIVE).log10(),
                high.max(f64::MIN_POSITIVE).log10(),
            )
        } else {
            (low, high)
        };
        let high = if high > low { high } else { low + 1.0 };
        Scale {
            low,
            high,
            from,
            to,
            log,
        }
    }

    fn at(&self, value: f64) -> f64 {
        let value = if self.log {
            value.max(f64::MIN_POSITIVE).log10()
        } else {
            value
        };
        self.from + (value - self.low) / (self.high - self.low) * (self.to - self.from)
    }
}

/// Round tick positions from 0 to at least `max`: steps of 1, 2 or 5 times a power of ten.
pub fn linear_ticks(max: f64) -> Vec<f64> {
    let max = if max.is_finite() && max > 0.0 {
        max
    } else {
        1.0
    };
    let rough = max / 4.0;
    let power = 10f64.powf(rough.log10().floor());
    let factor = [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .find(|factor| factor * power >= rough)
        .unwrap_or(10.0);
    let count = (max / (factor * power)).ceil() as usize;
    // Dividing by a whole power of ten keeps 0.6 from becoming 0.6000000000000001.
    let at = |multiple: f64| {
        if power < 1.0 {
            multiple / (1.0 / power).round()
        } else {
            multiple * power
        }
    };
    (0..=count).map(|index| at(index as f64 * factor)).collect()
}

/// Powers of ten covering `low..=high`.
pub fn log_ticks(low: f64, high: f64) -> Vec<f64> {
    let first = low.max(f64::MIN_POSITIVE).log10().floor() as i32;
    let last = high.max(f64::MIN_POSITIVE).log10().ceil() as i32;
    (first..=last.max(first + 1))
        .map(|power| 10f64.powi(power))
        .collect()
}

/// Whether values spanning `low..high` read better on a logarithmic scale.
pub fn wants_log(low: f64, high: f64) -> bool {
    low > 0.0 && high / low >= 30.0
}

fn number(value: f64) -> String {
    format!("{value:.1}")
}

/// Horizontal bars, one per runtime, each with its 95% interval as a whisker; the label sits
/// above its bar so long names fit on a phone.
pub fn bar_chart(
    id: &str,
    title: &str,
    axis_label: &str,
    bars: &[Bar],
    format: &dyn Fn(f64) -> String,
    format_tick: &dyn Fn(f64) -> String,
) -> Markup {
    let left = 8.0;
    let right = WIDTH - 16.0;
    let row = 40.0;
    let top = 8.0;
    let height = top + row * bars.len() as f64 + 44.0;
    let max = bars
        .iter()
        .map(|bar| bar.high.max(bar.value))
        .filter(|value| value.is_finite())
        .fold(0.0, f64::max);
    let ticks = linear_ticks(max);
    let scale = Scale::new(0.0, *ticks.last().unwrap_or(&1.0), left, right, false);
    let axis_y = top + row * bars.len() as f64 + 4.0;
    let description = bars
        .iter()
        .map(|bar| {
            format!(
                "{}: {} (95% interval {} to {})",
                bar.label,
                format(bar.value),
                format(bar.low),
                format(bar.high)
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        svg.chart.bars id=(id) viewBox={"0 0 " (WIDTH) " " (number(height))} role="img"
            aria-labelledby={(id) "-title " (id) "-desc"} {
            title id={(id) "-title"} { (title) }
            desc id={(id) "-desc"} { (description) }
            @for tick in &ticks {
                line.grid x1=(number(scale.at(*tick))) x2=(number(scale.at(*tick)))
                    y1=(number(top)) y2=(number(axis_y)) {}
                text.tick x=(number(scale.at(*tick))) y=(number(axis_y + 14.0))
                    text-anchor="middle" { (format_tick(*tick)) }
            }
            @for (index, bar) in bars.iter().enumerate() {
                @let y = top + row * index as f64;
                @let end = scale.at(bar.value.max(0.0));
                text.label x=(number(left)) y=(number(y + 11.0)) { (bar.label) }
                rect class={"bar s" (bar.series % 7)} x=(number(left)) y=(number(y + 16.0))
                    width=(number((end - left).max(1.0))) height="14" {}
                @if bar.high > bar.low {
                    g.whisker {
                        line x1=(number(scale.at(bar.low))) x2=(number(scale.at(bar.high)))
                            y1=(number(y + 23.0)) y2=(number(y + 23.0)) {}
                        line x1=(number(scale.at(bar.low))) x2=(number(scale.at(bar.low)))
                            y1=(number(y + 18.0)) y2=(number(y + 28.0)) {}
                        line x1=(number(scale.at(bar.high))) x2=(number(scale.at(bar.high)))
                            y1=(number(y + 18.0)) y2=(number(y + 28.0)) {}
                    }
                }
                @let text_x = scale.at(bar.high.max(bar.value)) + 4.0;
                @if text_x < right - 60.0 {
                    text.value x=(number(text_x)) y=(number(y + 27.0)) { (format(bar.value)) }
                } @else {
                    text.value.inside x=(number(left + 4.0)) y=(number(y + 27.0)) { (format(bar.value)) }
                }
            }
            line.axis x1=(number(left)) x2=(number(right)) y1=(number(axis_y)) y2=(number(axis_y)) {}
            text.axis-label x=(number((left + right) / 2.0)) y=(number(height - 6.0))
                text-anchor="middle" { (axis_label) }
        }
    }
}

/// Lines across x with a whisker at each point; the legend is HTML beside the chart.
pub fn line_chart(
    id: &str,
    title: &str,
    x_axis: &XAxis,
    y_label: &str,
    series: &[Series],
    format_x: &dyn Fn(f64) -> String,
    format_y: &dyn Fn(f64) -> String,
) -> Markup {
    let (right, top, bottom) = (WIDTH - 14.0, 12.0, 222.0);
    let height = 262.0;
    let points = || series.iter().flat_map(|line| line.points.iter());
    let y_low = points()
        .map(|point| point.low.min(point.y))
        .filter(|value| value.is_finite() && *value > 0.0)
        .fold(f64::INFINITY, f64::min);
    let y_high = points()
        .map(|point| point.high.max(point.y))
        .filter(|value| value.is_finite())
        .fold(0.0, f64::max);
    let y_log = wants_log(y_low, y_high);
    let y_ticks = if y_log {
        log_ticks(y_low, y_high)
    } else {
        linear_ticks(y_high)
    };
    // Room on the left for the longest tick label (about 6 units a character) and the
    // rotated axis label.
    let longest = y_ticks
        .iter()
        .map(|tick| format_y(*tick).chars().count())
        .max()
        .unwrap_or(4) as f64;
    let left = (26.0 + longest * 6.2).max(50.0);
    let y_scale = Scale::new(
        *y_ticks.first().unwrap_or(&0.0),
        *y_ticks.last().unwrap_or(&1.0),
        bottom,
        top,
        y_log,
    );
    let (x_scale, x_ticks, x_label): (Scale, Vec<(f64, String)>, &str) = match x_axis {
        XAxis::Numeric { label, ticks } => {
            let low = ticks.iter().copied().fold(f64::INFINITY, f64::min);
            let high = ticks.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            let log = wants_log(low, high) || (low > 0.0 && high / low >= 10.0);
            let pad = if log { 1.25 } else { 0.0 };
            let (low, high) = if log {
                (low / pad, high * pad)
            } else {
                let margin = (high - low).abs() * 0.05;
                (low - margin, high + margin)
            };
            (
                Scale::new(low, high, left, right, log),
                ticks.iter().map(|tick| (*tick, format_x(*tick))).collect(),
                label,
            )
        }
        XAxis::Categories { label, names } => (
            Scale::new(-0.5, names.len() as f64 - 0.5, left, right, false),
            names
                .iter()
                .enumerate()
                .map(|(index, name)| (index as f64, name.clone()))
                .collect(),
            label,
        ),
    };
    let description = series
        .iter()
        .map(|line| {
            let values = line
                .points
                .iter()
                .map(|point| {
                    let x = match x_axis {
                        XAxis::Categories { names, .. } => {
                            names.get(point.x as usize).cloned().unwrap_or_default()
                        }
                        XAxis::Numeric { .. } => format_x(point.x),
                    };
                    format!("{x}: {}", format_y(point.y))
                })
                .collect::<Vec<_>>()
                .join(", ");
            format!("{}: {values}", line.name)
        })
        .collect::<Vec<_>>()
        .join("; ");
    html! {
        svg.chart.lines id=(id) viewBox={"0 0 " (WIDTH) " " (number(height))} role="img"
            aria-labelledby={(id) "-title " (id) "-desc"} {
            title id={(id) "-title"} { (title) }
            desc id={(id) "-desc"} { (description) }
            @for tick in &y_ticks {
                line.grid x1=(number(left)) x2=(number(right))
                    y1=(number(y_scale.at(*tick))) y2=(number(y_scale.at(*tick))) {}
                text.tick x=(number(left - 4.0)) y=(number(y_scale.at(*tick) + 4.0))
                    text-anchor="end" { (format_y(*tick)) }
            }
            @for (tick, label) in &x_ticks {
                line.grid x1=(number(x_scale.at(*tick))) x2=(number(x_scale.at(*tick)))
                    y1=(number(top)) y2=(number(bottom)) {}
                text.tick x=(number(x_scale.at(*tick))) y=(number(bottom + 14.0))
                    text-anchor="middle" { (label) }
            }
            line.axis x1=(number(left)) x2=(number(right)) y1=(number(bottom)) y2=(number(bottom)) {}
            line.axis x1=(number(left)) x2=(number(left)) y1=(number(top)) y2=(number(bottom)) {}
            @for line in series {
                @let path = line.points.iter().enumerate().map(|(index, point)| {
                    format!("{}{},{}", if index == 0 { "M" } else { "L" },
                        number(x_scale.at(point.x)), number(y_scale.at(point.y)))
                }).collect::<Vec<_>>().join(" ");
                g class={"series s" (line.series % 7)} {
                    path class={"line" @if line.dashed { " dashed" }} d=(path) {}
                    @for point in &line.points {
                        @if point.high > point.low {
                            line.whisker x1=(number(x_scale.at(point.x))) x2=(number(x_scale.at(point.x)))
                                y1=(number(y_scale.at(point.low))) y2=(number(y_scale.at(point.high))) {}
                        }
                        circle.point cx=(number(x_scale.at(point.x))) cy=(number(y_scale.at(point.y))) r="3.5" {}
                    }
                }
            }
            text.axis-label x=(number((left + right) / 2.0)) y=(number(height - 8.0))
                text-anchor="middle" { (x_label) }
            text.axis-label x="12" y=(number((top + bottom) / 2.0)) text-anchor="middle"
                transform={"rotate(-90 12 " (number((top + bottom) / 2.0)) ")"} { (y_label) }
        }
    }
}

/// The legend of a line chart: a swatch and a name per series.
pub fn legend(series: &[Series]) -> Markup {
    html! {
        ul.legend {
            @for line in series {
                li {
                    svg.swatch viewBox="0 0 24 10" width="24" height="10" aria-hidden="true" {
                        line class={"s" (line.series % 7) @if line.dashed { " dashed" }}
                            x1="0" x2="24" y1="5" y2="5" {}
                    }
                    " " (line.name)
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_round_and_cover_the_data() {
        assert_eq!(linear_ticks(9.3), vec![0.0, 5.0, 10.0]);
        assert_eq!(linear_ticks(0.42), vec![0.0, 0.2, 0.4, 0.6]);
        assert_eq!(
            log_ticks(4.5, 1240.0),
            vec![1.0, 10.0, 100.0, 1000.0, 10000.0]
        );
        assert!(wants_log(4.5, 1240.0));
        assert!(!wants_log(0.11, 0.92));
    }
}
