declare const addon: import('sv').Addon<any, 'peerdrop'>;
export default addon;
