export default async function globalTeardown(): Promise<void> {
  const moto = (globalThis as { __moto?: { stop(): Promise<void> } }).__moto;
  await moto?.stop();
}
