//! One file per client notification. Text-sync handlers are synchronous functions on purpose:
//! they cannot `.await`, so edits are applied in arrival order.

pub mod did_change;
pub mod did_change_configuration;
pub mod did_change_watched_files;
pub mod did_close;
pub mod did_open;
pub mod did_save;
pub mod work_done_progress_cancel;
