//! A project's cluster on the local engine: what its containers should look like ([`spec`]),
//! bringing it up ([`up`]), taking it down ([`down`]) and reading its state ([`status`]).
//! Commands are leaves: what more than one command needs lives here or in
//! [`crate::engine`], never in a command.

pub mod down;
pub mod spec;
pub mod status;
pub mod up;

pub use down::{DownReport, down};
pub use spec::{PUBLISH_IP, Publish, PublishOn, Spec};
pub use status::gateway_url;
pub use up::{Action, Report, UpOptions, up};
