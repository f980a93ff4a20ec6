//! Test helpers: Sierra programs made to hold many values live over many statements, the most
//! compile work a byte of class can buy (`sierra::check` bounds and prices it), in Sierra's
//! text form, and classes of them.

use cairo_lang_sierra::ProgramParser;
use cairo_lang_starknet_classes::contract_class::{ContractClass, ContractEntryPoints};

/// The declared info of a type of one felt or more that may be stored, dropped and copied.
pub const INFO: &str = "[storable: true, drop: true, dup: true, zero_sized: false]";

/// A program that copies a struct of 128 felts `copies` times and holds the copies while
/// `churn` pairs of statements copy and drop one more, then drops them all. (Types, library
/// functions and functions are named by their index, as a class has them.)
pub fn held(copies: usize, churn: usize) -> String {
    let felts = vec!["[0]"; 128].join(", ");
    let mut text = format!(
        "type [0] = felt252 {INFO};\ntype [1] = Struct<ut@S, {felts}> {INFO};\n\
         libfunc [0] = dup<[1]>;\nlibfunc [1] = drop<[1]>;\n"
    );
    for i in 0..copies {
        text += &format!("[0]([{i}]) -> ([{i}], [{}]);\n", i + 1);
    }
    let spare = copies + 1;
    for _ in 0..churn {
        text += &format!("[0]([0]) -> ([0], [{spare}]);\n[1]([{spare}]) -> ();\n");
    }
    for i in 0..=copies {
        text += &format!("[1]([{i}]) -> ();\n");
    }
    text + "return();\n[0]@0([0]: [1]) -> ();\n"
}

/// The program `text` (Sierra's text form) as a class with no entry points.
///
/// # Panics
/// If `text` does not parse: it is a test's own program.
#[allow(clippy::expect_used)]
pub fn class_of(text: &str) -> ContractClass {
    let program = ProgramParser::new()
        .parse(text)
        .expect("a test program parses");
    ContractClass::new(
        &program,
        ContractEntryPoints::default(),
        None,
        Default::default(),
    )
    .expect("a parsed program makes a class")
}
