export { ReadingBuffer, type BufferEntry } from './buffer.js';
export { createDevice, DEFAULT_TUNING, type DeviceOptions, type DeviceStats, type DeviceTuning, type SimDevice } from './device.js';
export { createFleet, type Fleet, type FleetOptions, type FleetStats } from './fleet.js';
export { fleetLayout, stationIdOf, toStationCreate, type SimDeviceSpec, type SimStationSpec } from './layout.js';
export { generateReadings, runScenarioOffline, type OfflineOptions, type SimRecord } from './offline.js';
export { renderProgress } from './progress.js';
export * from './scenario.js';
export { realTimers, type SimTimers } from './timers.js';
export {
  nightWeather,
  relativeHumidityPct,
  sampleWeather,
  SCENARIOS,
  type NightWeather,
  type Scenario,
  type SimWorld,
  type WeatherSample,
  type WeatherSite,
} from './weather.js';
