export { UserProxy, type ServerDirectory, type UserProxyOptions } from './user-proxy.js';
