#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { ConfigError } from '../contracts/index.js';
import { registerBacktestCommand } from './commands/backtest.js';
import { registerBackupCommand, registerRestoreCommand } from './commands/backup.js';
import { registerClusterCommands } from './commands/cluster.js';
import { registerDistrictCommands } from './commands/districts.js';
import { registerGatewayCommand } from './commands/gateway.js';
import { registerIntegrationCommands } from './commands/integration.js';
import { registerModelCommands } from './commands/model.js';
import { registerPeopleCommands } from './commands/people.js';
import { registerServerCommand } from './commands/server.js';
import { registerSimCommand } from './commands/sim.js';
import { registerStationCommands } from './commands/station.js';
import { registerUpCommand } from './commands/up.js';
import { registerUserCommands } from './commands/users.js';
import { registerWorkerCommand } from './commands/worker.js';
import { CliError } from './output.js';

const program = new Command('frostwatch')
  .description(
    'Frost early warning for coffee farms in Lạc Dương: stations over MQTT → InfluxDB → warnings.\nConfiguration comes from environment variables; see README.md.',
  )
  .version('0.1.0')
  .showHelpAfterError('(run with --help for usage)')
  .exitOverride();

registerUpCommand(program);
registerGatewayCommand(program);
registerServerCommand(program);
registerWorkerCommand(program);
registerClusterCommands(program);
registerSimCommand(program);
registerDistrictCommands(program);
registerStationCommands(program);
registerIntegrationCommands(program);
registerPeopleCommands(program);
registerModelCommands(program);
registerUserCommands(program);
registerBacktestCommand(program);
registerBackupCommand(program);
registerRestoreCommand(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) return error.exitCode; // commander already printed help or the usage error
  if (error instanceof ConfigError || error instanceof CliError) {
    process.stderr.write(`frostwatch: ${error.message}\n`);
    return 1;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`frostwatch: failed: ${message}\n`);
  return 1;
}
