//! The EVM's instruction and static-gas tables, shared by every frame.
//!
//! revm's `EthInstructions` copies both tables into a fresh heap box per EVM (about 2.5 KiB);
//! Babel builds an EVM per frame, so it hands revm references to tables built at compile time
//! instead. The tables are exactly revm's mainnet ones at [`SPEC`](crate::SPEC).

use std::marker::PhantomData;

use revm::{
    handler::instructions::InstructionProvider,
    interpreter::{
        Host,
        instructions::{GasTable, InstructionTable, gas_table_spec, instruction_table},
        interpreter::EthInterpreter,
    },
};

use crate::SPEC;

/// Static gas costs at [`SPEC`](crate::SPEC).
static GAS_TABLE: GasTable = gas_table_spec(SPEC);

/// revm's mainnet instructions for host `CTX`, without a per-EVM copy.
pub(crate) struct Instructions<CTX>(PhantomData<fn(CTX)>);

impl<CTX> Instructions<CTX> {
    pub(crate) fn new() -> Self {
        Self(PhantomData)
    }
}

impl<CTX: Host> InstructionProvider for Instructions<CTX> {
    type Context = CTX;
    type InterpreterTypes = EthInterpreter;

    fn instruction_table(&self) -> &InstructionTable<EthInterpreter, CTX> {
        const { &instruction_table::<EthInterpreter, CTX>() }
    }

    fn gas_table(&self) -> &GasTable {
        &GAS_TABLE
    }
}
