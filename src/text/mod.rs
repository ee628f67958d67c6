//! Text documents.
