//! A simulated Arize API, served over real HTTP on loopback (demo mode and tests).
