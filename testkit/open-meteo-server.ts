/** The Open-Meteo stand-in lives with the simulated world (the demo's `up --forecast-sim` serves it); tests reach it here. */
export * from '../firmware-sim/forecast-server.js';
