/** "1.5 MiB" */
export function formatBytes(n: number): string {
	const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
	let i = 0;
	while (n >= 1024 && i < units.length - 1) {
		n /= 1024;
		i++;
	}
	return `${n.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** "42 s left", "3 min 5 s left", "estimating…" */
export function formatEta(seconds: number | null | undefined): string {
	if (seconds == null || !isFinite(seconds)) return 'estimating…';
	if (seconds < 60) return `${Math.ceil(seconds)} s left`;
	const m = Math.floor(seconds / 60);
	return m < 60 ? `${m} min ${Math.ceil(seconds % 60)} s left` : `${Math.floor(m / 60)} h ${m % 60} min left`;
}

export const PHASE_TEXT: Record<string, string> = {
	idle: 'Ready.',
	loading: 'Loading…',
	signaling: 'Contacting the signaling server…',
	waiting: 'Waiting for the other browser to open the link…',
	connecting: 'Connecting to the other browser…',
	connected: 'Connected directly.',
	offered: 'Files are offered: choose where to receive them.',
	transferring: 'Transferring…',
	reconnecting: 'The other browser disconnected. Waiting for it to come back; the transfer resumes where it stopped…',
	complete: 'Done: every file arrived and was verified.',
	cancelled: 'The transfer was cancelled.',
	error: 'The transfer stopped.'
};
