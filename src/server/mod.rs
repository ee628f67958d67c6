//! LSP glue.
