//! A simulated Arize API, served over real HTTP on loopback (demo mode and tests).
pub struct SimTask;
pub struct Simulator;
impl Simulator {
    pub async fn start(_tasks: Vec<SimTask>) -> std::io::Result<Simulator> {
        Ok(Simulator)
    }
    pub fn base_url(&self) -> String {
        String::new()
    }
}
pub fn demo_tasks(_now: time::OffsetDateTime) -> Vec<SimTask> {
    vec![]
}
