//! DA references in headers: a header may say where earlier blocks' blobs are on the DA
//! layer, once per block. The proposer lists the posts it knows of that no committed header
//! references yet; a validator accepts a reference that matches its own record of the post or
//! that it can check on the DA in time, and refuses everything else.

use std::{sync::Arc, time::Duration};

use babel_proto::v1;

use super::{DaLink, verify};
use crate::store::{Store, StoreError};

/// Most references in one header.
pub const MAX_REFS: usize = 64;

/// Most block heights a proposer looks at for references.
const MAX_SCAN: u64 = 1024;

/// How long a validator may take to check the references of a header that it holds no
/// record of, all together.
pub const CHECK_TIMEOUT: Duration = Duration::from_secs(2);

/// Whether a proposer lists references now: only while its DA has answered every call for a
/// follow interval. While the DA is down, a validator holding no record of a post cannot check
/// it and refuses the proposal, which would cost a round at every height of the outage; the
/// posts wait and are referenced once the DA is back.
pub fn worth_listing(link: &DaLink) -> bool {
    link.shared() && link.reachable_for() >= super::follower::FOLLOW_EVERY
}

/// References for the header at `height`: this node's records of blocks no committed header
/// references, lowest first. Only posts at DA heights its follower has read past are listed:
/// the other validators' followers, as far along, then hold the same records, and need not
/// check the references on the DA while consensus waits.
pub fn choose(store: &Store, height: u64) -> Result<Vec<v1::DaReference>, StoreError> {
    let floor = store.da_ref_floor()?;
    let scanned = store.da_scanned()?;
    let mut refs = Vec::new();
    for block in floor..height.min(floor.saturating_add(MAX_SCAN)) {
        if refs.len() == MAX_REFS {
            break;
        }
        if store.da_referenced(block)?.is_some() {
            continue;
        }
        if let Some(record) = store.da_record(block)?
            && record.da_height <= scanned
        {
            refs.push(record.reference(block));
        }
    }
    Ok(refs)
}

/// Check the references of a proposed header at `height`: `Ok(Err(reason))` refuses it.
/// `link` is the node's DA, if it shares one with the other validators.
pub fn check(
    store: &Store,
    link: Option<&Arc<DaLink>>,
    height: u64,
    refs: &[v1::DaReference],
) -> Result<Result<(), String>, StoreError> {
    if refs.is_empty() {
        return Ok(Ok(()));
    }
    let Some(link) = link.filter(|l| l.shared()) else {
        return Ok(Err("DA references, but this node's DA is its own".into()));
    };
    if refs.len() > MAX_REFS {
        return Ok(Err(format!(
            "{} DA references, limit {MAX_REFS}",
            refs.len()
        )));
    }
    let mut previous = 0;
    // References this node holds no record of, checked on the DA within one time budget for
    // all of them (the consensus thread waits).
    let mut unknown = Vec::new();
    for r in refs {
        if r.block_height <= previous {
            return Ok(Err("DA references out of order or repeated".into()));
        }
        previous = r.block_height;
        if r.block_height >= height {
            return Ok(Err(format!(
                "a DA reference to block {} from block {height}",
                r.block_height
            )));
        }
        if store.da_referenced(r.block_height)?.is_some() {
            return Ok(Err(format!(
                "block {} is referenced already",
                r.block_height
            )));
        }
        let Ok(commitment) = <[u8; 32]>::try_from(r.commitment.as_ref()) else {
            return Ok(Err("a DA reference's commitment is not 32 bytes".into()));
        };
        let known = store.da_record(r.block_height)?;
        if known.is_some_and(|k| k.da_height == r.da_height && k.commitment == commitment) {
            continue;
        }
        let Some(hash) = store.block_hash_at(r.block_height)? else {
            return Ok(Err(format!("block {} is not committed", r.block_height)));
        };
        unknown.push((r.block_height, hash, r.da_height, commitment));
    }
    if unknown.is_empty() {
        return Ok(Ok(()));
    }
    let checked = link.block_on(CHECK_TIMEOUT, move |link| async move {
        for (block_height, hash, da_height, commitment) in unknown {
            if let Err(e) =
                verify::check_reference(&link, block_height, hash, da_height, commitment).await
            {
                return Err(format!(
                    "DA reference to block {block_height} at DA height {da_height}: {e}"
                ));
            }
        }
        Ok(())
    });
    Ok(checked.unwrap_or_else(|| {
        Err(format!(
            "DA references not checked within {CHECK_TIMEOUT:?}"
        ))
    }))
}
