//! The frame's [`Host`] shared between revm's database, inspector and precompiles.
//!
//! revm owns its database, inspector and precompile provider at once, and all three need the
//! host: reads, checkpoints, cross-rollup calls. They share it through a `RefCell`, each
//! borrowing only for the duration of one host call. A host failure (fatal for the block) is
//! parked in [`Shared::fatal`] while revm unwinds with a plain error, then returned as is.

use std::cell::RefCell;

use babel_execution::{Checkpoint, ExecError, Host, XCall, XResult};
use revm::database_interface::DBErrorMarker;

/// The host of one EVM frame and the first fatal error it reported.
pub(crate) struct Shared<'h> {
    host: RefCell<&'h mut dyn Host>,
    fatal: RefCell<Option<ExecError>>,
}

/// A database failure as revm sees it; the real error waits in [`Shared::fatal`].
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub(crate) struct HostFault(pub(crate) String);

impl DBErrorMarker for HostFault {}

impl<'h> Shared<'h> {
    pub(crate) fn new(host: &'h mut dyn Host) -> Self {
        Self {
            host: RefCell::new(host),
            fatal: RefCell::new(None),
        }
    }

    /// Record a fatal error (the first one wins) and describe it for revm.
    pub(crate) fn fault(&self, e: ExecError) -> HostFault {
        let text = e.to_string();
        self.fatal.borrow_mut().get_or_insert(e);
        HostFault(text)
    }

    /// The fatal error reported during the frame, if any.
    pub(crate) fn take_fatal(&self) -> Option<ExecError> {
        self.fatal.borrow_mut().take()
    }

    pub(crate) fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, HostFault> {
        let result = self.host.borrow_mut().get(key);
        result.map_err(|e| self.fault(e))
    }

    pub(crate) fn set(&self, key: &[u8], value: Option<Vec<u8>>) {
        self.host.borrow_mut().set(key, value);
    }

    pub(crate) fn checkpoint(&self) -> Checkpoint {
        self.host.borrow_mut().checkpoint()
    }

    pub(crate) fn revert_to(&self, checkpoint: Checkpoint) {
        self.host.borrow_mut().revert_to(checkpoint);
    }

    /// A cross-rollup call. The borrow is held while the callee runs; the calling EVM is
    /// suspended in its precompile meanwhile and touches nothing else of the host.
    pub(crate) fn xcall(&self, caller: &[u8], call: XCall) -> Result<XResult, HostFault> {
        let result = self.host.borrow_mut().xcall(caller, call);
        result.map_err(|e| self.fault(e))
    }

    /// Append an outgoing message from contract `sender`; its index.
    pub(crate) fn emit_message(&self, sender: &[u8], payload: &[u8]) -> Result<u64, HostFault> {
        let result = self.host.borrow_mut().emit_message(sender, payload);
        result.map_err(|e| self.fault(e))
    }
}
