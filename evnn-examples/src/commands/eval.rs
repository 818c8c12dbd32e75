//! `evnn eval` and `evnn data`: a split of Yin–Yang or of a data file.

use super::{in_pool, RunOptions, SplitArg};
use crate::experiment::{accuracy, encode, EncodedSplit, Splits, TrainConfig, WithNet};
use crate::model_file::ModelFile;
use crate::models::Models;
use anyhow::{bail, Context, Result};
use clap::Args;
use evnn_data::YinYang;
use evnn_net::{BatchRunner, FeedForward, NetworkParams};
use evnn_neurons::NeuronModel;
use evnn_solver::{Adjoint, Backend};
use std::path::{Path, PathBuf};

/// Options of `evnn eval`.
#[derive(Args, Debug)]
pub struct EvalArgs {
    /// Model file written by `evnn train`.
    #[arg(long)]
    pub model: PathBuf,
    /// Which split.
    #[arg(long, value_enum, default_value = "test")]
    pub split: SplitArg,
    /// Evaluate on this labelled spike data file (JSON or .npz) instead of
    /// Yin–Yang.
    #[arg(long, value_name = "FILE")]
    pub data: Option<PathBuf>,
    /// Worker threads (0 = all cores).
    #[arg(long, default_value_t = 0)]
    pub threads: usize,
    /// How the model file's network is simulated.
    #[command(flatten)]
    pub run: RunOptions,
}

/// A whole split of a labelled spike data file for `config`'s network.
fn load_data_split(path: &Path, split: SplitArg, config: &TrainConfig) -> Result<EncodedSplit> {
    let data = evnn_data::SpikeData::load(path)?;
    let config = TrainConfig {
        data: Some(path.to_path_buf()),
        train_size: data.train.len(),
        val_size: data.validation.len(),
        test_size: data.test.len(),
        ..config.clone()
    };
    let splits = Splits::load(&config)?;
    Ok(match split {
        SplitArg::Train => splits.train,
        SplitArg::Validation => splits.validation,
        SplitArg::Test => splits.test,
    })
}

fn load_split(split: SplitArg, t_max: f64) -> Result<EncodedSplit> {
    let data = match split {
        SplitArg::Train => YinYang::train()?,
        SplitArg::Validation => YinYang::validation()?,
        SplitArg::Test => YinYang::test()?,
    };
    let n = data.len();
    encode(data, n, t_max)
}

struct EvalJob<'a> {
    params: &'a NetworkParams,
    split: &'a EncodedSplit,
}

impl WithNet for EvalJob<'_> {
    type Output = f64;
    fn run<N, B>(self, net: FeedForward<N, B>) -> Result<f64>
    where
        N: NeuronModel,
        B: Backend<N> + Adjoint<N> + Clone + Send + Sync,
    {
        accuracy(&BatchRunner::new(net), self.params, self.split)
    }
}

pub(super) fn run_eval<M: Models>(args: EvalArgs, models: &M) -> Result<()> {
    let file = ModelFile::load(&args.model)?;
    let mut config = file.config();
    args.run.apply(&mut config)?;
    let params = crate::models::file_params(models, &config, &file)
        .with_context(|| format!("model file {}", args.model.display()))?;
    let split = match &args.data {
        Some(path) => load_data_split(path, args.split, &config)?,
        None if config.task.is_some() => {
            let splits = Splits::load(&config)?;
            match args.split {
                SplitArg::Train => splits.train,
                SplitArg::Validation => splits.validation,
                SplitArg::Test => splits.test,
            }
        }
        None if (config.n_inputs, config.n_outputs) != (5, 3) => bail!(
            "the model has {} inputs and {} outputs, Yin–Yang 5 and 3: give its data with --data FILE",
            config.n_inputs,
            config.n_outputs
        ),
        None => load_split(args.split, config.t_max)?,
    };
    let acc = in_pool(args.threads, || {
        models.with_net(
            &config,
            EvalJob {
                params: &params,
                split: &split,
            },
        )
    })??;
    outln!(
        "{}",
        serde_json::json!({"accuracy": acc, "n": split.labels.len()})
    )?;
    Ok(())
}

/// Options of `evnn data`.
#[derive(Args, Debug)]
pub struct DataArgs {
    /// Which split.
    #[arg(long, value_enum, default_value = "train")]
    pub split: SplitArg,
}

pub(super) fn run_data(args: DataArgs) -> Result<()> {
    let split = load_split(args.split, TrainConfig::default().t_max)?;
    let data = split
        .data
        .as_ref()
        .context("Yin–Yang splits have features")?;
    let features: Vec<&[f64]> = data.iter().map(|(f, _)| f).collect();
    let inputs: Vec<Vec<f64>> = split.inputs.iter().map(|s| s.flat().to_vec()).collect();
    outln!(
        "{}",
        serde_json::json!({
            "split": args.split,
            "n": split.labels.len(),
            "features": features,
            "labels": split.labels,
            "inputs": inputs,
        })
    )?;
    Ok(())
}
