//! Hostile classes: what a deploy makes the node decompress, compile and keep is bounded by
//! what it pays for, and refused before the work when it would not be.

use babel_cairo::{
    ClassRefusal,
    class::Compiled,
    limits::{DEPLOY_GAS_PER_FELT, MAX_SIERRA_FELTS, deploy_gas, tx_gas},
};
use babel_proto::v1::{self, transaction::Payload};
use serde_json::{Value, json};

use crate::{CAIRO, Chain, GAS, class, reason};

/// The counter's class with its Sierra program replaced by `program` (hex felts).
fn with_program(program: Vec<String>) -> Vec<u8> {
    let mut class: Value = serde_json::from_slice(&class("counter")).unwrap();
    class["sierra_program"] = json!(program);
    serde_json::to_vec(&class).unwrap()
}

/// A compressed program: the versions (Sierra 1.7.0, compiler 2.12.0), a code book of
/// `code`, and `packed` felts said to unpack to `unpacked` code words.
fn compressed(code: Vec<String>, unpacked: usize, packed: usize) -> Vec<String> {
    let padding = code.len().max(256).next_power_of_two() - code.len();
    let mut felts: Vec<String> = ["0x1", "0x7", "0x0", "0x2", "0xc", "0x0"]
        .map(String::from)
        .into();
    felts.push(format!("{:#x}", code.len()));
    felts.push(format!("{padding:#x}"));
    felts.extend(code);
    felts.push(format!("{unpacked:#x}"));
    felts.extend(std::iter::repeat_n("0x0".to_string(), packed));
    felts
}

#[test]
fn a_code_word_past_the_prime_is_refused_before_it_is_decompressed() {
    // One code word of 100 kB, which 40 000 packed words would repeat 1.2 million times: 120
    // GB once decompressed, in a class of under half a megabyte.
    let huge = format!("0x{}", "f".repeat(200_000));
    let bomb = with_program(compressed(vec![huge], 31 * 40_000, 40_000));
    assert!(bomb.len() < 512 * 1024);
    assert_eq!(
        Compiled::compile(&bomb).unwrap_err(),
        ClassRefusal::Malformed
    );
    // The prime itself is no felt either.
    let prime = "0x800000000000011000000000000000000000000000000000000000000000001";
    let at_prime = with_program(compressed(vec![prime.into()], 31, 1));
    assert_eq!(
        Compiled::compile(&at_prime).unwrap_err(),
        ClassRefusal::Malformed
    );
}

#[test]
fn a_program_longer_than_the_bound_is_refused_before_it_is_decompressed() {
    let words = MAX_SIERRA_FELTS + 1;
    let long = with_program(compressed(vec!["0x1".into()], words, words.div_ceil(31)));
    assert_eq!(
        Compiled::compile(&long).unwrap_err(),
        ClassRefusal::ProgramTooLong
    );
    let mut chain = Chain::new();
    let out = chain.run(
        CAIRO,
        GAS,
        Payload::Cairo(v1::CairoCall {
            class: long.into(),
            ..Default::default()
        }),
    );
    assert_eq!(
        reason(&out),
        format!("cairo: Sierra program longer than {MAX_SIERRA_FELTS} felts")
    );
}

#[test]
fn a_deploy_pays_for_the_bytecode_its_class_compiles_to() {
    let json = class("counter");
    let compiled = Compiled::compile(&json).unwrap();
    let mut chain = Chain::new();
    let out = chain.run(
        CAIRO,
        GAS,
        Payload::Cairo(v1::CairoCall {
            class: json.clone().into(),
            ..Default::default()
        }),
    );
    // The counter's constructor takes an argument: run without one, it fails, after the
    // deploy's whole intrinsic cost.
    let intrinsic =
        tx_gas(0) + deploy_gas(json.len()) + DEPLOY_GAS_PER_FELT * compiled.bytecode_len as u64;
    assert!(!out.receipt.success);
    assert!(
        out.receipt.gas_used >= intrinsic,
        "{} < {intrinsic}",
        out.receipt.gas_used
    );
}
