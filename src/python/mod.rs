//! Everything that talks to a Python interpreter: environment discovery, the warm helper
//! process and its typed JSON-lines protocol.
//!
//! Architecture Invariant: this is the only module that spawns Python processes.
