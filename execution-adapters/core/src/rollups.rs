//! The rollups an executor runs: adapters given when it was built (the genesis rollups), and
//! adapters made on first use for rollups registered since, with gas prices from the
//! committed registry.

use std::{
    collections::BTreeMap,
    sync::{Arc, Mutex},
};

use crate::{
    ExecError, ExecutionAdapter, RollupId,
    registry::{Chain, Registry},
    state::Changes,
};

/// One rollup as execution needs it.
#[derive(Clone, Debug)]
pub(crate) struct Rollup {
    pub(crate) adapter: Arc<dyn ExecutionAdapter>,
    pub(crate) gas_price: u64,
}

impl Rollup {
    /// The fee for `gas` at this rollup's price.
    pub(crate) fn max_fee(&self, gas: u64) -> u128 {
        u128::from(gas) * u128::from(self.gas_price)
    }
}

#[derive(Debug, Default)]
pub(crate) struct Rollups {
    /// Adapters given when the executor was built, with their genesis gas price.
    given: BTreeMap<RollupId, Rollup>,
    /// The committed registry: which rollups exist, at what gas price.
    registry: Arc<Registry>,
    /// How registered rollups' adapters are made (none: only the given rollups run).
    chain: Option<Chain>,
    /// Adapters made for registered rollups.
    made: Mutex<BTreeMap<RollupId, Arc<dyn ExecutionAdapter>>>,
}

impl Clone for Rollups {
    fn clone(&self) -> Self {
        Self {
            given: self.given.clone(),
            registry: self.registry.clone(),
            chain: self.chain.clone(),
            made: Mutex::new(self.made_lock().clone()),
        }
    }
}

impl Rollups {
    fn made_lock(
        &self,
    ) -> std::sync::MutexGuard<'_, BTreeMap<RollupId, Arc<dyn ExecutionAdapter>>> {
        self.made.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn give(
        &mut self,
        id: RollupId,
        adapter: Arc<dyn ExecutionAdapter>,
        gas_price: u64,
    ) {
        self.given.insert(id, Rollup { adapter, gas_price });
    }

    pub(crate) fn follow(&mut self, registry: Arc<Registry>, chain: Chain) {
        self.registry = registry;
        self.chain = Some(chain);
    }

    pub(crate) fn registry(&self) -> &Arc<Registry> {
        &self.registry
    }

    pub(crate) fn chain(&self) -> Option<&Chain> {
        self.chain.as_ref()
    }

    /// Rollup `id`, as the committed registry has it.
    pub(crate) fn get(&self, id: RollupId) -> Result<Rollup, ExecError> {
        let price = self.registry.gas_price(id);
        if let Some(given) = self.given.get(&id) {
            return Ok(Rollup {
                adapter: given.adapter.clone(),
                gas_price: price.unwrap_or(given.gas_price),
            });
        }
        let (Some(record), Some(chain)) = (self.registry.get(id), &self.chain) else {
            return Err(ExecError::UnknownRollup(id));
        };
        let made = self.made_lock().get(&id).cloned();
        let adapter = match made {
            Some(adapter) => adapter,
            None => {
                let adapter = chain.factory.adapter(&record)?;
                self.made_lock().insert(id, adapter.clone());
                adapter
            }
        };
        Ok(Rollup {
            adapter,
            gas_price: record.gas_price,
        })
    }

    /// Every rollup's id: the given ones and the registered ones.
    pub(crate) fn ids(&self) -> Vec<RollupId> {
        let mut ids: Vec<RollupId> = self.given.keys().copied().collect();
        ids.extend(self.registry.ids());
        ids.sort_unstable();
        ids.dedup();
        ids
    }

    /// Learn the rollups `changes` register, then tell every adapter its rollup's share of
    /// them (see [`ExecutionAdapter::committed`]).
    pub(crate) fn committed(&self, changes: &Changes) {
        self.registry.learn_changes(changes);
        let mut split = crate::commitment::by_rollup(changes);
        // Every adapter hears of every commit, even with no changes of its rollup in it.
        for id in self.ids() {
            // A registered rollup's adapter is made now if need be, so that it hears of the
            // block that registered it.
            let Ok(rollup) = self.get(id) else {
                continue;
            };
            let changes = split.remove(&id).unwrap_or_default();
            rollup.adapter.committed(&changes);
        }
    }
}
