//! Keeps the transaction-wide journal in step with the EVM's own frames.
//!
//! Whatever a cross-rollup call changed on other rollups lives in the journal, not in revm's
//! state. So each EVM call or create frame opens a journal checkpoint when it starts and
//! reverts to it if it fails: an xcall made inside a sub-call that later reverts is undone with
//! it, exactly as the EVM undoes its own writes.

use babel_execution::Checkpoint;
use revm::{
    context_interface::ContextTr,
    inspector::Inspector,
    interpreter::{CallInputs, CallOutcome, CreateInputs, CreateOutcome},
};

use crate::host::Shared;

pub(crate) struct FrameSync<'s, 'h> {
    shared: &'s Shared<'h>,
    open: Vec<Checkpoint>,
}

impl<'s, 'h> FrameSync<'s, 'h> {
    /// `open` is reused memory (emptied here).
    pub(crate) fn new(shared: &'s Shared<'h>, mut open: Vec<Checkpoint>) -> Self {
        open.clear();
        Self { shared, open }
    }

    /// The checkpoint stack's memory, for the next frame.
    pub(crate) fn into_memory(self) -> Vec<Checkpoint> {
        self.open
    }

    fn close(&mut self, ok: bool) {
        if let Some(checkpoint) = self.open.pop()
            && !ok
        {
            self.shared.revert_to(checkpoint);
        }
    }
}

impl<CTX: ContextTr> Inspector<CTX> for FrameSync<'_, '_> {
    fn call(&mut self, _context: &mut CTX, _inputs: &mut CallInputs) -> Option<CallOutcome> {
        self.open.push(self.shared.checkpoint());
        None
    }

    fn call_end(&mut self, _context: &mut CTX, _inputs: &CallInputs, outcome: &mut CallOutcome) {
        self.close(outcome.result.is_ok());
    }

    fn create(&mut self, _context: &mut CTX, _inputs: &mut CreateInputs) -> Option<CreateOutcome> {
        self.open.push(self.shared.checkpoint());
        None
    }

    fn create_end(
        &mut self,
        _context: &mut CTX,
        _inputs: &CreateInputs,
        outcome: &mut CreateOutcome,
    ) {
        self.close(outcome.result.is_ok());
    }
}
