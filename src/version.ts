// The version of tsrunc and of the runtime-spec it implements.
export const VERSION = '0.1.0';
export const SPEC_VERSION = '1.2.0';
