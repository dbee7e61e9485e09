/** The benchmark's task: `s` names the function in tasks.cjs, `x` is its input. */
export declare function run(task: { readonly s: string; readonly x: unknown }): unknown;
/** Burns about `ms` milliseconds of CPU. */
export declare function burn(ms: number): number;
/** The iterations of the burn loop per millisecond on this machine. */
export declare function calibrate(): number;
