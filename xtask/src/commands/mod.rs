//! One module per command, each with its `Args` and a `run` function.

pub mod bench;
pub mod bench_load;
pub mod build;
pub mod ci;
pub mod clean;
pub mod down;
pub mod install;
pub mod load_db;
pub mod logs;
pub mod push;
pub mod run;
pub mod seed;
pub mod service_list;
pub mod status;
pub mod test;
pub mod up;
pub mod watch;

/// `--project NAME`, shared by the commands that work on a cluster.
#[derive(Debug, Clone, clap::Args)]
pub struct ProjectArg {
    /// The cluster to work on: its network, volumes, secrets and container names all derive
    /// from this name, so a second project is an isolated second cluster.
    #[arg(long, env = "CHEFCITO_PROJECT", default_value = crate::engine::DEFAULT_PROJECT)]
    pub project: String,
}

impl ProjectArg {
    pub fn new(project: &str) -> ProjectArg {
        ProjectArg {
            project: project.to_string(),
        }
    }
}
