//! One file per client request.

pub mod completion;
pub mod debug;
pub mod execute_command;
pub mod initialize;
pub mod show_graph;
pub mod shutdown;
