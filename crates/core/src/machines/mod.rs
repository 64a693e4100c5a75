//! Layer 5: machines. The sans-IO parts the register drives: a card payment,
//! the sync with the back office, who is at the register, the link to the
//! bridge, when the staff list and the catalog are downloaded again.

pub mod desk;
pub mod lan;
pub mod payment;
pub mod refresh;
pub mod sync;
