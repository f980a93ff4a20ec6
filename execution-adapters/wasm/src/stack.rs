//! A deterministic bound on a guest's call stack.
//!
//! wasmtime's own stack limit counts native bytes, which depend on the machine code and on the
//! host's frames, so where it trips could differ between two builds of the node: a contract
//! that recurses close to it could succeed on one validator and fail on another. So the module
//! is rewritten before it is compiled: each function gets a cost in stack *slots* (its
//! parameters and locals, the most operands it ever holds, and a fixed frame overhead), and
//! every call to a function of the module adds the callee's cost to a counter before the call
//! and takes it off after. A call that would take the counter past [`MAX_STACK_SLOTS`] traps
//! instead, and the counter tells the trap from any other `unreachable`. `call_indirect`
//! counts the most any function costs. The frames the host enters (exports, the start
//! function) are counted too: each such function is reached through a thunk appended to the
//! module that counts it the same way. The bound is the same on every node, and far below
//! what the native stack allows ([`crate::limits::MAX_WASM_STACK`] is 256 bytes a slot, with
//! Winch, a single-pass compiler, giving a frame little beyond its wasm values), so
//! wasmtime's own limit is never what stops a guest.
//!
//! The same rewrite makes the operators whose work is an operand pay for it ([`crate::bulk`]).

use wasm_encoder::{
    ConstExpr, ExportKind, GlobalType, Instruction, ValType as EncValType,
    reencode::{Error as ReencodeError, Reencode, utils},
};
use wasmparser::{FuncValidatorAllocations, Operator, Parser, Payload, ValidPayload, Validator};

use crate::{bulk, engine, module::Refusal};

/// Most stack slots the guest's frames may hold at once (512 KiB at 16 bytes a slot).
pub const MAX_STACK_SLOTS: u32 = 32 * 1024;
/// Slots every frame costs beyond its values: return address, saved registers, spills.
pub const FRAME_SLOTS: u32 = 8;
/// The export through which the runtime reads the counter after a trap.
pub const COUNTER_EXPORT: &str = "__babel_stack";

/// Each defined function's cost in slots, in function index order (after the imports), and
/// what the thunks need.
struct Costs {
    imported: u32,
    costs: Vec<u32>,
    max: u32,
    globals: u32,
    /// Parameter count of each type (non-function types count 0).
    type_params: Vec<u32>,
    /// Type index of each defined function.
    func_types: Vec<u32>,
    /// Defined functions the host enters (exported, or the start function), ascending.
    entries: Vec<u32>,
}

/// Validate `code` with the engine's features and measure each function.
fn measure(code: &[u8]) -> Result<Costs, Refusal> {
    let mut validator = Validator::new_with_features(engine::features());
    let mut allocs = FuncValidatorAllocations::default();
    let mut costs = Costs {
        imported: 0,
        costs: Vec::new(),
        max: 0,
        globals: 0,
        type_params: Vec::new(),
        func_types: Vec::new(),
        entries: Vec::new(),
    };
    for payload in Parser::new(0).parse_all(code) {
        let payload = payload.map_err(|_| Refusal::Invalid)?;
        match &payload {
            Payload::TypeSection(reader) => {
                for group in reader.clone() {
                    for sub in group.map_err(|_| Refusal::Invalid)?.types() {
                        let params = match &sub.composite_type.inner {
                            wasmparser::CompositeInnerType::Func(f) => f.params().len() as u32,
                            _ => 0,
                        };
                        costs.type_params.push(params);
                    }
                }
            }
            Payload::ImportSection(reader) => {
                // Only functions may be imported (checked before).
                costs.imported = reader.count();
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    costs.func_types.push(ty.map_err(|_| Refusal::Invalid)?);
                }
            }
            Payload::GlobalSection(reader) => costs.globals = reader.count(),
            Payload::ExportSection(reader) => {
                for export in reader.clone() {
                    let export = export.map_err(|_| Refusal::Invalid)?;
                    if export.kind == wasmparser::ExternalKind::Func {
                        costs.entries.push(export.index);
                    }
                }
            }
            Payload::StartSection { func, .. } => costs.entries.push(*func),
            _ => {}
        }
        if let ValidPayload::Func(func, body) =
            validator.payload(&payload).map_err(|_| Refusal::Invalid)?
        {
            let mut fv = func.into_validator(std::mem::take(&mut allocs));
            fv.read_locals(&mut body.get_binary_reader())
                .map_err(|_| Refusal::Invalid)?;
            let mut ops = body.get_operators_reader().map_err(|_| Refusal::Invalid)?;
            let mut height = 0;
            while !ops.eof() {
                let (op, offset) = ops.read_with_offset().map_err(|_| Refusal::Invalid)?;
                fv.op(offset, &op).map_err(|_| Refusal::Invalid)?;
                height = height.max(fv.operand_stack_height());
            }
            // The instrumentation's own two operands, at any call or sized operator, and the
            // scratch local of the latter (see [`crate::bulk`]).
            let cost = fv
                .len_locals()
                .saturating_add(height)
                .saturating_add(3 + FRAME_SLOTS);
            costs.max = costs.max.max(cost);
            costs.costs.push(cost);
            allocs = fv.into_allocations();
        }
    }
    let imported = costs.imported;
    costs.entries.retain(|f| *f >= imported);
    costs.entries.sort_unstable();
    costs.entries.dedup();
    Ok(costs)
}

/// The re-encoder that adds the counter and counts around calls.
struct Instrument {
    costs: Costs,
    saw_globals: bool,
    /// Defined functions whose bodies have been rewritten so far.
    bodies: u32,
}

impl Instrument {
    /// The counter's global index: after every global the module defines.
    fn counter(&self) -> u32 {
        self.costs.globals
    }

    fn counter_global(globals: &mut wasm_encoder::GlobalSection) {
        globals.global(
            GlobalType {
                val_type: EncValType::I32,
                mutable: true,
                shared: false,
            },
            &ConstExpr::i32_const(0),
        );
    }

    /// The callee's cost, for a call to function `index` (`None` for an import).
    fn cost_of(&self, index: u32) -> Option<u32> {
        index
            .checked_sub(self.costs.imported)
            .and_then(|i| self.costs.costs.get(i as usize).copied())
    }

    /// The thunk through which the host enters function `index`, if it is an entry.
    fn thunk_of(&self, index: u32) -> Option<u32> {
        let k = self.costs.entries.binary_search(&index).ok()?;
        let total = self.costs.imported + self.costs.costs.len() as u32;
        Some(total + k as u32)
    }

    /// Emit `call` counted as a frame of `cost` slots.
    fn counted_call(&self, f: &mut wasm_encoder::Function, cost: u32, call: &Instruction<'_>) {
        let counter = self.counter();
        let cost = i32::try_from(cost).unwrap_or(i32::MAX);
        let limit = i32::try_from(MAX_STACK_SLOTS).unwrap_or(i32::MAX);
        f.instruction(&Instruction::GlobalGet(counter))
            .instruction(&Instruction::I32Const(cost))
            .instruction(&Instruction::I32Add)
            .instruction(&Instruction::GlobalSet(counter))
            .instruction(&Instruction::GlobalGet(counter))
            .instruction(&Instruction::I32Const(limit))
            .instruction(&Instruction::I32GtU)
            .instruction(&Instruction::If(wasm_encoder::BlockType::Empty))
            .instruction(&Instruction::Unreachable)
            .instruction(&Instruction::End)
            .instruction(call)
            .instruction(&Instruction::GlobalGet(counter))
            .instruction(&Instruction::I32Const(cost))
            .instruction(&Instruction::I32Sub)
            .instruction(&Instruction::GlobalSet(counter));
    }
}

impl Reencode for Instrument {
    type Error = Refusal;

    fn parse_global_section(
        &mut self,
        globals: &mut wasm_encoder::GlobalSection,
        section: wasmparser::GlobalSectionReader<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        utils::parse_global_section(self, globals, section)?;
        Self::counter_global(globals);
        self.saw_globals = true;
        Ok(())
    }

    fn intersperse_section_hook(
        &mut self,
        module: &mut wasm_encoder::Module,
        after: Option<wasm_encoder::SectionId>,
        before: Option<wasm_encoder::SectionId>,
    ) -> Result<(), ReencodeError<Refusal>> {
        use wasm_encoder::SectionId;
        // A module without globals gets a section for the counter where globals go: before
        // its exports (every contract has some: its memory).
        if !self.saw_globals && before == Some(SectionId::Export) {
            let mut globals = wasm_encoder::GlobalSection::new();
            Self::counter_global(&mut globals);
            module.section(&globals);
            self.saw_globals = true;
        }
        utils::intersperse_section_hook(self, module, after, before)
    }

    fn parse_export_section(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        section: wasmparser::ExportSectionReader<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        utils::parse_export_section(self, exports, section)?;
        exports.export(COUNTER_EXPORT, ExportKind::Global, self.counter());
        Ok(())
    }

    fn parse_function_body(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        body: wasmparser::FunctionBody<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        // The function's locals, and one more: the scratch of the sized operators' fuel.
        let mut locals = Vec::new();
        let mut declared = 0u32;
        for group in body.get_locals_reader()? {
            let (count, ty) = group?;
            declared = declared.saturating_add(count);
            locals.push((count, self.val_type(ty)?));
        }
        let defined = self.bodies as usize;
        self.bodies += 1;
        let params = self
            .costs
            .func_types
            .get(defined)
            .and_then(|ty| self.costs.type_params.get(*ty as usize))
            .copied()
            .unwrap_or(0);
        let scratch = params.saturating_add(declared);
        locals.push((1, EncValType::I32));
        let mut f = wasm_encoder::Function::new(locals);
        // Winch zeroes every declared local on entry, which no operator's fuel covers.
        if declared > 0 {
            f.instruction(&Instruction::I32Const(
                i32::try_from(declared).unwrap_or(i32::MAX),
            ));
            bulk::pay(&mut f, scratch, bulk::Size::Locals);
            f.instruction(&Instruction::Drop);
        }
        let mut reader = body.get_operators_reader()?;
        while !reader.eof() {
            let op = reader.read()?;
            let cost = match &op {
                Operator::Call { function_index } => self.cost_of(*function_index),
                Operator::CallIndirect { .. } => Some(self.costs.max),
                _ => None,
            };
            let sized = bulk::size_of(&op);
            let instruction = self.instruction(op)?;
            if let Some(size) = sized {
                bulk::pay(&mut f, scratch, size);
            }
            match cost {
                Some(cost) => self.counted_call(&mut f, cost, &instruction),
                None => {
                    f.instruction(&instruction);
                }
            }
        }
        code.function(&f);
        Ok(())
    }

    fn parse_function_section(
        &mut self,
        functions: &mut wasm_encoder::FunctionSection,
        section: wasmparser::FunctionSectionReader<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        utils::parse_function_section(self, functions, section)?;
        for &entry in &self.costs.entries {
            let defined = (entry - self.costs.imported) as usize;
            functions.function(self.costs.func_types[defined]);
        }
        Ok(())
    }

    fn parse_code_section(
        &mut self,
        code: &mut wasm_encoder::CodeSection,
        section: wasmparser::CodeSectionReader<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        utils::parse_code_section(self, code, section)?;
        // The thunks: pass the parameters on, count the entered function's frame.
        for &entry in &self.costs.entries {
            let defined = (entry - self.costs.imported) as usize;
            let ty = self.costs.func_types[defined] as usize;
            let params = self.costs.type_params.get(ty).copied().unwrap_or(0);
            let mut f = wasm_encoder::Function::new([]);
            for p in 0..params {
                f.instruction(&Instruction::LocalGet(p));
            }
            self.counted_call(&mut f, self.costs.costs[defined], &Instruction::Call(entry));
            f.instruction(&Instruction::End);
            code.function(&f);
        }
        Ok(())
    }

    fn parse_export(
        &mut self,
        exports: &mut wasm_encoder::ExportSection,
        export: wasmparser::Export<'_>,
    ) -> Result<(), ReencodeError<Refusal>> {
        match (export.kind, self.thunk_of(export.index)) {
            (wasmparser::ExternalKind::Func, Some(thunk)) => {
                exports.export(export.name, ExportKind::Func, thunk);
                Ok(())
            }
            _ => utils::parse_export(self, exports, export),
        }
    }

    fn start_section(&mut self, start: u32) -> Result<u32, ReencodeError<Refusal>> {
        Ok(self.thunk_of(start).unwrap_or(start))
    }
}

/// `code` with the stack counter (see the module docs); refused if it does not validate.
pub fn instrument(code: &[u8]) -> Result<Vec<u8>, Refusal> {
    let mut instrument = Instrument {
        costs: measure(code)?,
        saw_globals: false,
        bodies: 0,
    };
    let mut module = wasm_encoder::Module::new();
    instrument
        .parse_core_module(&mut module, Parser::new(0), code)
        .map_err(|_| Refusal::Invalid)?;
    Ok(module.finish())
}

/// Whether a counter value means the guest hit the stack bound.
pub fn exhausted(counter: i32) -> bool {
    counter as u32 > MAX_STACK_SLOTS
}
