//! Helpers for tests of this and downstream crates that feed decoders hostile bytes.

/// Apply byte-level mutations `(kind, position, byte)` to `bytes`: flip a bit, overwrite,
/// insert or delete a byte, or cut the input short. Positions wrap around the current length,
/// so any generated triple is a valid mutation.
pub fn mutate(bytes: &[u8], mutations: &[(u8, usize, u8)]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for &(kind, at, byte) in mutations {
        let i = at % (out.len() + 1);
        match kind % 5 {
            0 if i < out.len() => out[i] ^= 1 << (byte % 8),
            1 if i < out.len() => out[i] = byte,
            2 => out.insert(i, byte),
            3 if i < out.len() => {
                out.remove(i);
            }
            _ => out.truncate(i),
        }
    }
    out
}

/// One protobuf field as it appears on the wire: tag and value.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Field {
    Varint(u32, u64),
    Fixed64(u32, u64),
    Len(u32, Vec<u8>),
    Fixed32(u32, u32),
}

/// Field lengths and numbers worth trying: around the 20- and 32-byte sizes of addresses, hashes
/// and keys, the 64 of signatures, and the edges of the integer types.
const LENGTHS: [usize; 10] = [0, 1, 19, 20, 21, 31, 32, 33, 63, 65];
const NUMBERS: [u64; 10] = [
    0,
    1,
    2,
    u32::MAX as u64,
    u32::MAX as u64 + 1,
    i64::MAX as u64,
    u64::MAX,
    u64::MAX - 1,
    1 << 40,
    3,
];

/// The fields of a protobuf encoding, or `None` if `bytes` is not one (groups count as not).
fn parse(mut bytes: &[u8]) -> Option<Vec<Field>> {
    use prost::encoding::{WireType, decode_key, decode_varint};
    let mut out = Vec::new();
    while !bytes.is_empty() {
        let (tag, wire) = decode_key(&mut bytes).ok()?;
        let field = match wire {
            WireType::Varint => Field::Varint(tag, decode_varint(&mut bytes).ok()?),
            WireType::SixtyFourBit => {
                let (value, rest) = bytes.split_first_chunk::<8>()?;
                bytes = rest;
                Field::Fixed64(tag, u64::from_le_bytes(*value))
            }
            WireType::ThirtyTwoBit => {
                let (value, rest) = bytes.split_first_chunk::<4>()?;
                bytes = rest;
                Field::Fixed32(tag, u32::from_le_bytes(*value))
            }
            WireType::LengthDelimited => {
                let len = usize::try_from(decode_varint(&mut bytes).ok()?).ok()?;
                if len > bytes.len() {
                    return None;
                }
                let (value, rest) = bytes.split_at(len);
                bytes = rest;
                Field::Len(tag, value.to_vec())
            }
            WireType::StartGroup | WireType::EndGroup => return None,
        };
        out.push(field);
    }
    Some(out)
}

fn write(fields: &[Field]) -> Vec<u8> {
    use prost::encoding::{WireType, encode_key, encode_varint};
    let mut out = Vec::new();
    for field in fields {
        match field {
            Field::Varint(tag, v) => {
                encode_key(*tag, WireType::Varint, &mut out);
                encode_varint(*v, &mut out);
            }
            Field::Fixed64(tag, v) => {
                encode_key(*tag, WireType::SixtyFourBit, &mut out);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Field::Fixed32(tag, v) => {
                encode_key(*tag, WireType::ThirtyTwoBit, &mut out);
                out.extend_from_slice(&v.to_le_bytes());
            }
            Field::Len(tag, v) => {
                encode_key(*tag, WireType::LengthDelimited, &mut out);
                encode_varint(v.len() as u64, &mut out);
                out.extend_from_slice(v);
            }
        }
    }
    out
}

/// Apply protobuf-aware mutations `(kind, path, value)` to `bytes`, keeping the framing valid
/// so that the decoded message reaches the checks behind the parser: drop, repeat or renumber
/// a field, set a number to an edge value, resize a byte string (to the lengths of hashes,
/// addresses, keys and signatures, and one off), or flip a bit inside one. `path` picks the
/// field, descending into nested messages; bytes that are not a protobuf encoding get
/// [`mutate`]'s byte-level mutations instead.
pub fn mutate_fields(bytes: &[u8], mutations: &[(u8, usize, u64)]) -> Vec<u8> {
    let mut out = bytes.to_vec();
    for &(kind, path, value) in mutations {
        out = mutate_field(&out, kind, path, value, 0);
    }
    out
}

/// [`mutate_fields`] when `structured`, else [`mutate`] (with the low byte of each value): a
/// test draws both kinds from one strategy.
pub fn mutate_with(structured: bool, bytes: &[u8], mutations: &[(u8, usize, u64)]) -> Vec<u8> {
    if structured {
        return mutate_fields(bytes, mutations);
    }
    let bytewise: Vec<(u8, usize, u8)> = mutations
        .iter()
        .map(|&(kind, at, value)| (kind, at, value as u8))
        .collect();
    mutate(bytes, &bytewise)
}

fn mutate_field(bytes: &[u8], kind: u8, path: usize, value: u64, depth: u8) -> Vec<u8> {
    let Some(mut fields) = parse(bytes) else {
        return mutate(bytes, &[(kind, path, value as u8)]);
    };
    if fields.is_empty() {
        // Something where nothing was: a field the message may not expect.
        let tag = (value % 12) as u32 + 1;
        return write(&[Field::Varint(tag, NUMBERS[path % NUMBERS.len()])]);
    }
    let i = path % fields.len();
    let rest = path / fields.len();
    // Two times in three, go one level down when the field holds a (non-empty) message: the
    // checks worth reaching are mostly on nested fields.
    if let Field::Len(_, inner) = &mut fields[i]
        && depth < 6
        && !rest.is_multiple_of(3)
        && fields_nonempty(inner)
    {
        *inner = mutate_field(inner, kind, rest / 3, value, depth + 1);
        return write(&fields);
    }
    let pick = (value as usize) % LENGTHS.len();
    match (kind % 6, &mut fields[i]) {
        (0, _) => {
            fields.remove(i);
        }
        (1, _) => {
            // A repeated scalar: prost keeps the last; a repeated message: merged.
            let copy = fields[i].clone();
            fields.insert(i, copy);
        }
        (
            2,
            Field::Varint(tag, _)
            | Field::Fixed64(tag, _)
            | Field::Fixed32(tag, _)
            | Field::Len(tag, _),
        ) => {
            *tag = (value % 12) as u32 + 1;
        }
        (3, Field::Varint(_, v) | Field::Fixed64(_, v)) => {
            *v = NUMBERS[pick];
        }
        (3, Field::Fixed32(_, v)) => *v = NUMBERS[pick] as u32,
        (3, Field::Len(_, v)) | (4, Field::Len(_, v)) => {
            // One off the current length, or a length that a field of this schema has.
            let len = match kind % 6 {
                3 => LENGTHS[pick],
                _ if value.is_multiple_of(2) => v.len().saturating_sub(1),
                _ => v.len() + 1,
            };
            v.resize(len, (value >> 8) as u8);
        }
        (_, Field::Len(_, v)) if !v.is_empty() => {
            let at = rest % v.len();
            v[at] ^= 1 << (value % 8);
        }
        (_, Field::Varint(_, v) | Field::Fixed64(_, v)) => *v ^= 1 << (value % 64),
        (_, Field::Fixed32(_, v)) => *v ^= 1 << (value % 32),
        (_, Field::Len(_, v)) => v.push(value as u8),
    }
    write(&fields)
}

/// Every encoding one field change away from `bytes` (a protobuf encoding; nothing for other
/// bytes): each field at every depth dropped, repeated or renumbered, each number set to each
/// edge value, each byte string resized to each telling length and one off, and each nested
/// message changed the same way, recursively. A deterministic sweep, complementing the random
/// [`mutate_fields`]: together they reach every field check at least once.
pub fn field_mutants(bytes: &[u8]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    field_mutants_into(bytes, 0, &mut |m| out.push(m));
    out
}

fn field_mutants_into(bytes: &[u8], depth: u8, out: &mut dyn FnMut(Vec<u8>)) {
    let Some(fields) = parse(bytes) else {
        return;
    };
    for i in 0..fields.len() {
        let mut emit = |field: Option<Field>, repeat: bool| {
            let mut v = fields.clone();
            match field {
                Some(f) if repeat => v.insert(i, f),
                Some(f) => v[i] = f,
                None => {
                    v.remove(i);
                }
            }
            // Setting a value to what it is already is no mutation.
            if v != fields {
                out(write(&v));
            }
        };
        emit(None, false);
        emit(Some(fields[i].clone()), true);
        let tag = match &fields[i] {
            Field::Varint(t, _)
            | Field::Fixed64(t, _)
            | Field::Fixed32(t, _)
            | Field::Len(t, _) => *t,
        };
        for other in [tag - 1, tag + 1, 15] {
            if other == 0 {
                continue;
            }
            let mut f = fields[i].clone();
            match &mut f {
                Field::Varint(t, _)
                | Field::Fixed64(t, _)
                | Field::Fixed32(t, _)
                | Field::Len(t, _) => *t = other,
            }
            emit(Some(f), false);
        }
        match &fields[i] {
            Field::Varint(t, _) => NUMBERS
                .iter()
                .for_each(|n| emit(Some(Field::Varint(*t, *n)), false)),
            Field::Fixed64(t, _) => NUMBERS
                .iter()
                .for_each(|n| emit(Some(Field::Fixed64(*t, *n)), false)),
            Field::Fixed32(t, _) => NUMBERS
                .iter()
                .for_each(|n| emit(Some(Field::Fixed32(*t, *n as u32)), false)),
            Field::Len(t, inner) => {
                let near = [inner.len().saturating_sub(1), inner.len() + 1];
                for len in LENGTHS.into_iter().chain(near) {
                    let mut v = inner.clone();
                    v.resize(len, 0xAB);
                    emit(Some(Field::Len(*t, v)), false);
                }
                if depth < 6 && fields_nonempty(inner) {
                    let t = *t;
                    field_mutants_into(inner, depth + 1, &mut |m| {
                        emit(Some(Field::Len(t, m)), false)
                    });
                } else if let (Some(first), Some(last)) = (inner.first(), inner.last()) {
                    let (mut a, mut b) = (inner.clone(), inner.clone());
                    a[0] = first ^ 1;
                    let end = b.len() - 1;
                    b[end] = last ^ 0x80;
                    emit(Some(Field::Len(*t, a)), false);
                    emit(Some(Field::Len(*t, b)), false);
                }
            }
        }
    }
}

fn fields_nonempty(bytes: &[u8]) -> bool {
    parse(bytes).is_some_and(|f| !f.is_empty())
}

#[cfg(test)]
mod tests {
    use prost::Message as _;

    use super::*;
    use crate::v1;

    fn header() -> Vec<u8> {
        v1::Block {
            header: Some(v1::Header {
                chain_id: "c".into(),
                height: 7,
                parent_hash: vec![1; 32].into(),
                proposer: vec![2; 20].into(),
                ..Default::default()
            }),
            txs: vec![v1::SignedTransaction {
                body: vec![3; 40].into(),
                signature: vec![4; 64].into(),
                ..Default::default()
            }],
            last_certificate: None,
        }
        .encode_to_vec()
    }

    #[test]
    fn fields_round_trip_and_mutations_keep_the_framing() {
        let block = header();
        assert_eq!(parse(&block).map(|f| write(&f)), Some(block.clone()));
        let mut lengths = std::collections::BTreeSet::new();
        for n in 0..2_000u64 {
            let kind = (n % 7) as u8;
            let path = (n.wrapping_mul(0x9E37_79B9) >> 7) as usize;
            let out = mutate_fields(&block, &[(kind, path, n.wrapping_mul(31))]);
            assert!(parse(&out).is_some(), "mutation {n} broke the framing");
            if let Ok(b) = v1::Block::decode(out.as_slice())
                && let Some(h) = b.header
            {
                lengths.insert(h.parent_hash.len());
            }
        }
        // Nested fields are reached and resized around the sizes that matter.
        assert!(lengths.contains(&31) && lengths.contains(&33) && lengths.contains(&0));
    }

    #[test]
    fn the_sweep_changes_every_field_once_at_every_depth() {
        let block = header();
        let mutants = field_mutants(&block);
        assert!(mutants.iter().all(|m| parse(m).is_some() && *m != block));
        let parent_hashes: std::collections::BTreeSet<usize> = mutants
            .iter()
            .filter_map(|m| v1::Block::decode(m.as_slice()).ok()?.header)
            .map(|h| h.parent_hash.len())
            .collect();
        for len in [0, 1, 19, 20, 21, 31, 33, 63, 65] {
            assert!(parent_hashes.contains(&len), "no {len}-byte parent hash");
        }
        assert!(field_mutants(b"\xFF\xFF not protobuf").is_empty());
    }
}
