// Vite's `?raw` imports (the node tests read signal.php's source this way).
declare module '*?raw' {
	const text: string;
	export default text;
}
