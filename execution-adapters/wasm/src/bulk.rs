//! Fuel for work whose size is an operand: the bulk memory and table operators and the grows,
//! and the zeroing of a function's declared locals on entry.
//!
//! Winch charges every operator its flat fuel and nothing per byte, so `memory.fill` of 16 MiB
//! would cost what `i32.add` costs. The rewrite in [`crate::stack`] puts before each such
//! operator a loop that runs once per [`BYTES_PER_ROUND`] bytes (or per element, or
//! [`ROUNDS_PER_PAGE`] times per page grown), each round [`FUEL_PER_ROUND`] fuel, and leaves
//! the operands as they were. The loop is ordinary code, metered like any other: running out
//! of fuel in it is running out of gas, at the same point on every node.

use wasm_encoder::{BlockType, Function, Instruction};
use wasmparser::Operator;

use crate::limits::{FUEL_PER_GAS, PAGE_GAS};

/// Fuel of one round of the loop (its twelve operators that cost fuel).
pub const FUEL_PER_ROUND: u64 = 12;
/// Bytes of `memory.fill`, `memory.copy` and `memory.init` paid by one round.
pub const BYTES_PER_ROUND: u32 = 32;
/// Rounds per 64 KiB page `memory.grow` asks for: [`PAGE_GAS`], like a page an instance
/// starts with.
pub const ROUNDS_PER_PAGE: u32 = (PAGE_GAS * FUEL_PER_GAS / FUEL_PER_ROUND) as u32;
/// Rounds every `memory.grow` and `table.grow` pays first, whatever it asks for (it calls
/// into the runtime).
pub const GROW_ROUNDS: u32 = 20;
/// Declared locals whose zeroing one round pays for (a store each, on every entry).
pub const LOCALS_PER_ROUND: u32 = 8;
/// Most pages or elements a grow is charged for: more than any limit allows, so such a grow
/// fails anyway, after paying this much.
const MAX_GROW: u32 = 65_536;

/// What an operator's size operand (the top of the stack) counts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Size {
    /// Bytes: `memory.fill`, `memory.copy`, `memory.init`.
    Bytes,
    /// Table elements: `table.fill`, `table.copy`, `table.init`.
    Elements,
    /// Pages asked of `memory.grow`.
    Pages,
    /// Elements asked of `table.grow`.
    TableGrowth,
    /// Locals a function declares (a constant the rewrite puts on the stack at entry).
    Locals,
}

/// Whether `op` is paid for by its size operand, and how.
pub(crate) fn size_of(op: &Operator<'_>) -> Option<Size> {
    match op {
        Operator::MemoryFill { .. } | Operator::MemoryCopy { .. } | Operator::MemoryInit { .. } => {
            Some(Size::Bytes)
        }
        Operator::TableFill { .. } | Operator::TableCopy { .. } | Operator::TableInit { .. } => {
            Some(Size::Elements)
        }
        Operator::MemoryGrow { .. } => Some(Size::Pages),
        Operator::TableGrow { .. } => Some(Size::TableGrowth),
        _ => None,
    }
}

/// Emit the loop paying for an operator of `size`, whose size operand is on top of the stack
/// (and stays there), using `scratch`, an `i32` local of the function.
pub(crate) fn pay(f: &mut Function, scratch: u32, size: Size) {
    f.instruction(&Instruction::LocalTee(scratch));
    let step = match size {
        Size::Bytes => BYTES_PER_ROUND,
        Size::Elements => 1,
        Size::Locals => LOCALS_PER_ROUND,
        Size::Pages | Size::TableGrowth => {
            // rounds = min(n, MAX_GROW) * per + GROW_ROUNDS, in rounds of one.
            let per = if size == Size::Pages {
                ROUNDS_PER_PAGE
            } else {
                1
            };
            f.instruction(&Instruction::LocalGet(scratch))
                .instruction(&Instruction::I32Const(MAX_GROW as i32))
                .instruction(&Instruction::I32GtU)
                .instruction(&Instruction::If(BlockType::Empty))
                .instruction(&Instruction::I32Const(MAX_GROW as i32))
                .instruction(&Instruction::LocalSet(scratch))
                .instruction(&Instruction::End)
                .instruction(&Instruction::LocalGet(scratch))
                .instruction(&Instruction::I32Const(per as i32))
                .instruction(&Instruction::I32Mul)
                .instruction(&Instruction::I32Const(GROW_ROUNDS as i32))
                .instruction(&Instruction::I32Add)
                .instruction(&Instruction::LocalSet(scratch));
            1
        }
    };
    // while scratch > 0 { scratch -= min(scratch, step) }: one round per step, at least one
    // round for any nonzero size.
    f.instruction(&Instruction::Block(BlockType::Empty))
        .instruction(&Instruction::Loop(BlockType::Empty))
        .instruction(&Instruction::LocalGet(scratch))
        .instruction(&Instruction::I32Eqz)
        .instruction(&Instruction::BrIf(1))
        .instruction(&Instruction::LocalGet(scratch))
        .instruction(&Instruction::I32Const(step as i32))
        .instruction(&Instruction::I32Sub)
        .instruction(&Instruction::LocalGet(scratch))
        .instruction(&Instruction::I32Const(step as i32))
        .instruction(&Instruction::I32GtU)
        .instruction(&Instruction::I32Mul)
        .instruction(&Instruction::LocalSet(scratch))
        .instruction(&Instruction::Br(0))
        .instruction(&Instruction::End)
        .instruction(&Instruction::End);
}
