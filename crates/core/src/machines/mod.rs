//! Layer 5: machines. The sans-IO parts the register drives: a card payment,
//! the sync with the back office, who is at the register, the link to the
//! bridge, when the staff list and the catalog are downloaded again, and what the
//! bridge's HTTP answers mean.

pub mod desk;
pub mod edge;
pub mod lan;
pub mod payment;
pub mod refresh;
pub mod sync;
