//! Checking a module before it is compiled: its size, what it imports, and how much of each
//! kind of thing it declares. wasmtime validates the code itself (with only the features the
//! engine enables); this is what keeps what a deploy costs to compile and instantiate within
//! the limits, what gives each refusal a stable reason, and what measures the [`Shape`] a
//! deploy pays for.

use wasmparser::{
    CompositeInnerType, ElementItems, ExternalKind, Operator, Parser, Payload, TypeRef, ValType,
};

use crate::{
    abi::{self, Ty},
    limits::{
        MAX_BR_TABLE_TARGETS, MAX_EXPORTS, MAX_FUNCTIONS, MAX_GLOBALS, MAX_IMPORTS, MAX_LOCALS,
        MAX_MEMORY_PAGES, MAX_MODULE_BYTES, MAX_SEGMENTS, MAX_TABLE_ELEMENTS,
    },
};

/// Why a module is refused. The texts are stable: receipts carry them, and `results_root`
/// commits to receipts.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Larger than [`MAX_MODULE_BYTES`].
    #[error("wasm: module larger than {MAX_MODULE_BYTES} bytes")]
    TooLarge,
    /// Not a WebAssembly module wasmtime accepts with this engine's features.
    #[error("wasm: invalid module")]
    Invalid,
    /// An import that is not a host function of the ABI (or not with its signature).
    #[error("wasm: unknown import {0}")]
    UnknownImport(String),
    /// More of something than the limits allow.
    #[error("wasm: too many {0}")]
    TooMany(&'static str),
    /// A memory or table that starts above its limit.
    #[error("wasm: {0} above its limit")]
    TooBig(&'static str),
    /// No memory exported as `memory`.
    #[error("wasm: no exported memory")]
    NoMemory,
    /// An export name the node reserves (`__babel…`).
    #[error("wasm: reserved export {0}")]
    ReservedExport(String),
}

/// What compiling a module costs beyond its bytes: the things the compiler spends a fixed
/// time on, whatever their size (see [`crate::limits::compile_gas`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Functions the module defines.
    pub functions: u32,
    /// `call` and `call_indirect` instructions (each is rewritten to count the stack).
    pub calls: u32,
    /// Functions the host or a table can reach (exports and element items): each gets
    /// entry code of its own.
    pub escaping: u32,
    /// Data and element segments.
    pub segments: u32,
    /// Data segments (each is copied into memory by every instance).
    pub data_segments: u32,
    /// Pages the memory starts with (every instance has them).
    pub memory_pages: u32,
    /// Locals the functions declare, parameters aside (each is zeroed on every entry).
    pub locals: u32,
}

fn ty(v: &ValType) -> Option<Ty> {
    match v {
        ValType::I32 => Some(Ty::I32),
        ValType::I64 => Some(Ty::I64),
        _ => None,
    }
}

/// Check `code` against the limits and the ABI (see [`Refusal`]), and measure its [`Shape`].
pub fn check(code: &[u8]) -> Result<Shape, Refusal> {
    if code.len() > MAX_MODULE_BYTES {
        return Err(Refusal::TooLarge);
    }
    let mut func_types: Vec<Option<(Vec<Ty>, Vec<Ty>)>> = Vec::new();
    let mut imports = 0usize;
    let mut functions = 0u32;
    let mut memory_exported = false;
    let mut shape = Shape::default();
    let mut defined_types: Vec<u32> = Vec::new();
    let mut bodies = 0usize;
    for payload in Parser::new(0).parse_all(code) {
        match payload.map_err(|_| Refusal::Invalid)? {
            Payload::TypeSection(reader) => {
                for group in reader {
                    for sub in group.map_err(|_| Refusal::Invalid)?.types() {
                        func_types.push(match &sub.composite_type.inner {
                            CompositeInnerType::Func(f) => {
                                let params: Option<Vec<Ty>> = f.params().iter().map(ty).collect();
                                let results: Option<Vec<Ty>> = f.results().iter().map(ty).collect();
                                params.zip(results)
                            }
                            _ => None,
                        });
                    }
                }
            }
            Payload::ImportSection(reader) => {
                for import in reader {
                    let import = import.map_err(|_| Refusal::Invalid)?;
                    imports += 1;
                    if imports > MAX_IMPORTS {
                        return Err(Refusal::TooMany("imports"));
                    }
                    let name = format!("{}.{}", import.module, import.name);
                    let TypeRef::Func(index) = import.ty else {
                        return Err(Refusal::UnknownImport(name));
                    };
                    let wanted = (import.module == abi::MODULE)
                        .then(|| abi::signature(import.name))
                        .flatten();
                    let declared = func_types.get(index as usize).cloned().flatten();
                    match (wanted, declared) {
                        (Some((params, results)), Some((p, r)))
                            if p.as_slice() == params && r.as_slice() == results => {}
                        _ => return Err(Refusal::UnknownImport(name)),
                    }
                }
            }
            Payload::FunctionSection(reader) => {
                for ty in reader.clone() {
                    defined_types.push(ty.map_err(|_| Refusal::Invalid)?);
                }
                functions = functions.saturating_add(reader.count());
                if functions > MAX_FUNCTIONS {
                    return Err(Refusal::TooMany("functions"));
                }
                shape.functions = functions;
            }
            Payload::TableSection(reader) => {
                // The instance limits allow one table: more would fail at instantiation,
                // not here, where a refusal belongs.
                if reader.count() > 1 {
                    return Err(Refusal::TooMany("tables"));
                }
                for table in reader {
                    let table = table.map_err(|_| Refusal::Invalid)?;
                    if table.ty.initial > MAX_TABLE_ELEMENTS {
                        return Err(Refusal::TooBig("table"));
                    }
                }
            }
            Payload::MemorySection(reader) => {
                for memory in reader {
                    let memory = memory.map_err(|_| Refusal::Invalid)?;
                    if memory.initial > MAX_MEMORY_PAGES {
                        return Err(Refusal::TooBig("memory"));
                    }
                    shape.memory_pages = memory.initial as u32;
                }
            }
            Payload::GlobalSection(reader) if reader.count() > MAX_GLOBALS => {
                return Err(Refusal::TooMany("globals"));
            }
            Payload::ExportSection(reader) => {
                if reader.count() as usize > MAX_EXPORTS {
                    return Err(Refusal::TooMany("exports"));
                }
                for export in reader {
                    let export = export.map_err(|_| Refusal::Invalid)?;
                    if export.kind == ExternalKind::Memory && export.name == abi::MEMORY {
                        memory_exported = true;
                    }
                    if export.name.starts_with("__babel") {
                        return Err(Refusal::ReservedExport(export.name.to_owned()));
                    }
                    if export.kind == ExternalKind::Func {
                        shape.escaping = shape.escaping.saturating_add(1);
                    }
                }
            }
            Payload::ElementSection(reader) => {
                if reader.count() > MAX_SEGMENTS {
                    return Err(Refusal::TooMany("element segments"));
                }
                shape.segments = shape.segments.saturating_add(reader.count());
                for element in reader {
                    let items = match element.map_err(|_| Refusal::Invalid)?.items {
                        ElementItems::Functions(r) => r.count(),
                        ElementItems::Expressions(_, r) => r.count(),
                    };
                    shape.escaping = shape.escaping.saturating_add(items);
                }
            }
            Payload::DataSection(reader) => {
                if reader.count() > MAX_SEGMENTS {
                    return Err(Refusal::TooMany("data segments"));
                }
                shape.segments = shape.segments.saturating_add(reader.count());
                shape.data_segments = reader.count();
            }
            Payload::CodeSectionEntry(body) => {
                // Parameters are locals too.
                let params = defined_types
                    .get(bodies)
                    .and_then(|ty| func_types.get(*ty as usize))
                    .and_then(|f| f.as_ref())
                    .map_or(0, |(params, _)| params.len() as u32);
                bodies += 1;
                let mut declared = 0u32;
                for group in body.get_locals_reader().map_err(|_| Refusal::Invalid)? {
                    let (count, _) = group.map_err(|_| Refusal::Invalid)?;
                    declared = declared.saturating_add(count);
                }
                if params.saturating_add(declared) > MAX_LOCALS {
                    return Err(Refusal::TooMany("locals"));
                }
                shape.locals = shape.locals.saturating_add(declared);
                for op in body.get_operators_reader().map_err(|_| Refusal::Invalid)? {
                    match op.map_err(|_| Refusal::Invalid)? {
                        Operator::Call { .. } | Operator::CallIndirect { .. } => {
                            shape.calls = shape.calls.saturating_add(1);
                        }
                        Operator::BrTable { targets } if targets.len() > MAX_BR_TABLE_TARGETS => {
                            return Err(Refusal::TooMany("br_table targets"));
                        }
                        _ => {}
                    }
                }
            }
            _ => {}
        }
    }
    if !memory_exported {
        return Err(Refusal::NoMemory);
    }
    Ok(shape)
}
