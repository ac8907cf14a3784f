// For the bridge's own tests: getSession("crash") kills the host process while other calls wait.
export default class CrashingStore {
  async sessionExists() {
    return new Promise(() => {}); // never answers: a call still pending when the host dies
  }
  async getSession(sessionId) {
    if (sessionId !== "crash") return null;
    console.error("CrashingStore: about to crash on purpose");
    setTimeout(() => process.exit(7), 20);
    return new Promise(() => {});
  }
  async createSession() {}
  async updateSession() {}
  async deleteSession() {}
}
