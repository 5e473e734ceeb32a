export { WorkflowEngine, EngineUsageError, JOB_LOG_MAX_BYTES } from './engine.js';
export { ENGINE_OPERATIONS, OPERATION_ARGS, TASK_OPERATIONS, isEngineOperation, parseCommand } from './operations.js';
export type { EngineOperation, OperationArgs } from './operations.js';
export { parseFlow, readFlowFile } from './flow.js';
export type { FlowDefinition, TaskDefinition, Dependency } from './flow.js';
export * from './types.js';
