//! revm's view of an EVM rollup's state: the frame's host, in the layout of [`crate::state`].

use babel_execution::ExecError;
use revm::{
    database_interface::Database,
    primitives::{Address, B256, KECCAK_EMPTY, U256},
    state::{AccountInfo, Bytecode},
};

use crate::{
    host::{HostFault, Shared},
    state::{Account, RESERVED_CODE_PREFIX, account_key, code_key, storage_key},
};

/// Reads through the frame's host (its journal, then the block's changes, then the store).
pub(crate) struct HostDb<'s, 'h> {
    pub(crate) shared: &'s Shared<'h>,
}

impl HostDb<'_, '_> {
    fn corrupt(&self, what: &str) -> HostFault {
        self.shared
            .fault(ExecError::State(format!("corrupt EVM {what} record")))
    }
}

impl Database for HostDb<'_, '_> {
    type Error = HostFault;

    fn basic(&mut self, address: Address) -> Result<Option<AccountInfo>, HostFault> {
        let Some(bytes) = self.shared.get(&account_key(&address))? else {
            return Ok(None);
        };
        let account = Account::decode(&bytes).ok_or_else(|| self.corrupt("account"))?;
        Ok(Some(AccountInfo {
            balance: account.balance,
            nonce: account.nonce,
            code_hash: account.code_hash,
            code: None,
            ..Default::default()
        }))
    }

    fn code_by_hash(&mut self, code_hash: B256) -> Result<Bytecode, HostFault> {
        if code_hash == KECCAK_EMPTY {
            return Ok(Bytecode::default());
        }
        let bytes = self
            .shared
            .get(&code_key(&code_hash))?
            .ok_or_else(|| self.corrupt("code"))?;
        // Neither genesis nor the EVM puts such code in state. revm's plain constructor would
        // panic on some of it (a malformed `0xEF01…` delegation) and run the rest as
        // something Babel does not have: either way it is a corrupt record, fatal for the
        // block rather than for the process.
        if bytes.first() == Some(&RESERVED_CODE_PREFIX) {
            return Err(self.corrupt("code"));
        }
        Bytecode::new_raw_checked(bytes.into()).map_err(|_| self.corrupt("code"))
    }

    fn storage(&mut self, address: Address, index: U256) -> Result<U256, HostFault> {
        Ok(self
            .shared
            .get(&storage_key(&address, &index))?
            .map(|v| U256::from_be_slice(&v))
            .unwrap_or(U256::ZERO))
    }

    fn block_hash(&mut self, _number: u64) -> Result<B256, HostFault> {
        // Block hashes are not part of a rollup's state: BLOCKHASH returns zero (documented).
        Ok(B256::ZERO)
    }
}
