// The phases a transfer goes through, as the state classes and the texts for them name them.
export type TransferPhase =
	| 'idle' | 'loading' | 'signaling' | 'waiting' | 'connecting' | 'connected' | 'offered'
	| 'transferring' | 'reconnecting' | 'complete' | 'cancelled' | 'error';
