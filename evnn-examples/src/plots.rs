//! PNG plots of a training run (plotters).
//!
//! Text is drawn with DejaVu Sans, embedded in the program
//! (`evnn-examples/assets/DejaVuSans.ttf`, licence beside it), through
//! plotters' pure-Rust `ab_glyph` renderer: no system font or font library
//! is needed.

use crate::experiment::EpochMetrics;
use anyhow::{anyhow, Result};
use plotters::prelude::*;
use std::path::Path;

const CLASS_COLORS: [RGBColor; 3] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
];
const CLASS_NAMES: [&str; 3] = ["yin", "yang", "dot"];

/// The font of every text in the plots, registered as "sans-serif".
const FONT: &[u8] = include_bytes!("../assets/DejaVuSans.ttf");

fn err<E: std::fmt::Display>(e: E) -> anyhow::Error {
    anyhow!("plotting failed: {e}")
}

/// Registers [`FONT`] as plotters' "sans-serif" (idempotent; plotters'
/// `ab_glyph` renderer knows no font until one is registered).
fn register_font() -> Result<()> {
    plotters::style::register_font("sans-serif", FontStyle::Normal, FONT)
        .map_err(|_| anyhow!("plotting failed: the embedded font is not a valid TrueType font"))
}

/// Training loss and train/validation accuracy per epoch, side by side.
pub fn curves(path: &Path, epochs: &[EpochMetrics]) -> Result<()> {
    register_font()?;
    let root = BitMapBackend::new(path, (1200, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let (left, right) = root.split_horizontally(600);
    let n = epochs.len().max(1) as f64;
    let max_loss = epochs
        .iter()
        .map(|e| e.train_loss)
        .fold(0.0, f64::max)
        .max(1e-3)
        * 1.05;
    let mut c = ChartBuilder::on(&left)
        .caption("training loss", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n, 0.0..max_loss)
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("epoch")
        .y_desc("loss")
        .draw()
        .map_err(err)?;
    c.draw_series(LineSeries::new(
        epochs.iter().map(|e| (e.epoch as f64, e.train_loss)),
        &RED,
    ))
    .map_err(err)?;
    let mut c = ChartBuilder::on(&right)
        .caption("accuracy", ("sans-serif", 22))
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .build_cartesian_2d(0.0..n, 0.0..1.0)
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("epoch")
        .y_desc("accuracy")
        .draw()
        .map_err(err)?;
    c.draw_series(LineSeries::new(
        epochs.iter().map(|e| (e.epoch as f64, e.train_score)),
        &BLUE,
    ))
    .map_err(err)?
    .label("train")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], BLUE));
    c.draw_series(LineSeries::new(
        epochs
            .iter()
            .map(|e| (e.epoch as f64, e.val_score.unwrap_or(f64::NAN))),
        &GREEN,
    ))
    .map_err(err)?
    .label("validation")
    .legend(|(x, y)| PathElement::new(vec![(x, y), (x + 20, y)], GREEN));
    c.configure_series_labels()
        .position(SeriesLabelPosition::LowerRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// Test samples at `(x, y)` coloured by predicted class; misclassified
/// samples (and samples with no output spike) are marked with a black cross.
pub fn decision_map(
    path: &Path,
    xy: &[(f64, f64)],
    labels: &[usize],
    predicted: &[Option<usize>],
) -> Result<()> {
    register_font()?;
    let root = BitMapBackend::new(path, (640, 680)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let errors = labels
        .iter()
        .zip(predicted)
        .filter(|(l, p)| Some(**l) != **p)
        .count();
    let mut c = ChartBuilder::on(&root)
        .caption(
            format!(
                "test set: predicted class ({} errors of {})",
                errors,
                labels.len()
            ),
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(35)
        .y_label_area_size(45)
        .build_cartesian_2d(0.0..1.0, 0.0..1.0)
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("x")
        .y_desc("y")
        .draw()
        .map_err(err)?;
    for class in 0..3 {
        c.draw_series(
            xy.iter()
                .zip(predicted)
                .filter(|(_, p)| **p == Some(class))
                .map(|(&(x, y), _)| Circle::new((x, y), 3, CLASS_COLORS[class].filled())),
        )
        .map_err(err)?
        .label(CLASS_NAMES[class])
        .legend(move |(x, y)| Circle::new((x + 8, y), 4, CLASS_COLORS[class].filled()));
    }
    c.draw_series(
        xy.iter()
            .zip(labels.iter().zip(predicted))
            .filter(|(_, (l, p))| Some(**l) != **p)
            .map(|(&(x, y), _)| Cross::new((x, y), 4, BLACK.stroke_width(2))),
    )
    .map_err(err)?
    .label("error")
    .legend(|(x, y)| Cross::new((x + 8, y), 4, BLACK.stroke_width(2)));
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}

/// First spike times of the three output neurons for a few samples; the
/// label neuron's marker is ringed (it should spike first).
pub fn output_spikes(
    path: &Path,
    first_spikes: &[Vec<f64>],
    labels: &[usize],
    t_max: f64,
) -> Result<()> {
    register_font()?;
    let root = BitMapBackend::new(path, (800, 450)).into_drawing_area();
    root.fill(&WHITE).map_err(err)?;
    let n = first_spikes.len().max(1);
    let mut c = ChartBuilder::on(&root)
        .caption(
            "output first-spike times (ring: label neuron)",
            ("sans-serif", 20),
        )
        .margin(12)
        .x_label_area_size(40)
        .y_label_area_size(50)
        .build_cartesian_2d(-0.5..(n as f64 - 0.5), 0.0..t_max)
        .map_err(err)?;
    c.configure_mesh()
        .x_desc("sample")
        .y_desc("first spike time")
        .draw()
        .map_err(err)?;
    for k in 0..3 {
        let pts: Vec<(f64, f64)> = first_spikes
            .iter()
            .enumerate()
            .filter_map(|(i, t)| {
                t.get(k)
                    .filter(|v| v.is_finite())
                    .map(|&v| (i as f64 + 0.15 * (k as f64 - 1.0), v))
            })
            .collect();
        c.draw_series(
            pts.iter()
                .map(|&p| Circle::new(p, 5, CLASS_COLORS[k].filled())),
        )
        .map_err(err)?
        .label(format!("neuron {k} ({})", CLASS_NAMES[k]))
        .legend(move |(x, y)| Circle::new((x + 8, y), 4, CLASS_COLORS[k].filled()));
    }
    c.draw_series(
        first_spikes
            .iter()
            .zip(labels)
            .enumerate()
            .filter_map(|(i, (t, &l))| {
                t.get(l).filter(|v| v.is_finite()).map(|&v| {
                    Circle::new(
                        (i as f64 + 0.15 * (l as f64 - 1.0), v),
                        9,
                        BLACK.stroke_width(2),
                    )
                })
            }),
    )
    .map_err(err)?;
    c.configure_series_labels()
        .position(SeriesLabelPosition::UpperRight)
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(err)?;
    root.present().map_err(err)?;
    Ok(())
}
