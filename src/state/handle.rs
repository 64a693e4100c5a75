//! The register of this tab, as the app holds it: the machine, the one
//! timer at its `poll_timeout`, and which register is current (Settings →
//! Save starts a new one, which does not take the answers to its
//! predecessor's requests). [`crate::runner`] feeds it; views read it.

use gloo_timers::callback::Timeout;
use leptos::prelude::*;
use till_core::register::Register;

/// `Copy`: every part is a signal or a stored value.
#[derive(Clone, Copy)]
pub struct RegisterHandle {
    machine: StoredValue<Option<Register>, LocalStorage>,
    /// Bumped after every input: views that read the register re-render.
    rev: RwSignal<u64>,
    /// The register's one timer (dropping it cancels it).
    timer: StoredValue<Option<Timeout>, LocalStorage>,
    generation: StoredValue<u64>,
}

impl RegisterHandle {
    pub(super) fn new() -> RegisterHandle {
        RegisterHandle {
            machine: StoredValue::new_local(None),
            rev: RwSignal::new(0),
            timer: StoredValue::new_local(None),
            generation: StoredValue::new(0),
        }
    }

    /// Reads the register, tracked: re-runs after every input. `None`
    /// before it is started.
    pub fn read<T>(&self, f: impl FnOnce(&Register) -> T) -> Option<T> {
        self.rev.track();
        self.peek(f)
    }

    /// Reads the register without tracking (an event handler's question).
    pub fn peek<T>(&self, f: impl FnOnce(&Register) -> T) -> Option<T> {
        self.machine.with_value(|m| m.as_ref().map(f))
    }

    /// Changes the register (an input); `None` before it is started. The
    /// views re-render at [`RegisterHandle::changed`].
    pub fn update<T>(&self, f: impl FnOnce(&mut Register) -> T) -> Option<T> {
        self.machine
            .try_update_value(|m| m.as_mut().map(f))
            .flatten()
    }

    /// Views that read the register re-render.
    pub fn changed(&self) {
        self.rev.update(|n| *n += 1);
    }

    /// Makes `register` this tab's register; answers to the one it replaces
    /// are not its own.
    pub fn install(&self, register: Register) {
        self.machine.set_value(Some(register));
        self.generation.update_value(|g| *g += 1);
    }

    /// Which register is current: an answer carries the generation that
    /// asked, and is dropped if another register has started since.
    pub fn generation(&self) -> u64 {
        self.generation.get_value()
    }

    /// Replaces (so cancels) the register's timer.
    pub fn set_timer(&self, timer: Option<Timeout>) {
        self.timer.set_value(timer);
    }
}
