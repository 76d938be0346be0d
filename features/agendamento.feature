# language: pt
Funcionalidade: Agendamento de consultas
  A agenda da clínica é de toda a recepção: cada profissional atende nos seus horários, cada
  tipo de consulta tem a sua duração, e um horário nunca é dado a dois pacientes. Quem desiste
  libera o horário, que é oferecido primeiro a quem está na lista de espera.

  Contexto:
    Dado que a clínica tem o canal simulador
    E que são 10:00 de 25/11/2026
    E que a Dra. Ana atende de segunda a sexta das 08:00 às 18:00, com almoço das 12:00 às 13:00
    E que a clínica oferece "Limpeza" de 30 minutos por R$ 150,00
    E que a paciente Maria (+55 11 98765-4321) escreveu "Quero marcar uma limpeza"
    E que o paciente João (+55 21 99876-5432) escreveu "Tem horário amanhã de manhã?"

  Cenário: A recepção marca um horário livre
    Quando a recepção procura horários de "Limpeza" em 26/11/2026 de manhã
    Então o primeiro horário livre é 08:00 com a Dra. Ana
    Quando a recepção marca "Limpeza" para Maria em 26/11/2026 às 09:00
    Então Maria tem "Limpeza" em 26/11/2026 às 09:00 com a Dra. Ana, a confirmar
    E a agenda de 26/11/2026 mostra "09:00 Maria (Limpeza)" com a Dra. Ana
    E 09:00 não está mais entre os horários livres de 26/11/2026

  Cenário: O mesmo horário duas vezes: a segunda marcação ouve "horário ocupado"
    Dado que Maria tem "Limpeza" marcada em 26/11/2026 às 09:00
    Quando a recepção marca "Limpeza" para João em 26/11/2026 às 09:00
    Então a marcação é recusada porque o horário está ocupado
    E os horários oferecidos no lugar são 08:15, 08:30 e 09:30 de 26/11/2026
    E João não tem consulta marcada

  Cenário: A paciente remarca para a tarde
    Dado que Maria tem "Limpeza" marcada em 26/11/2026 às 09:00
    E que Maria confirmou a consulta
    Quando a recepção remarca a consulta de Maria para 26/11/2026 às 14:00
    Então Maria tem "Limpeza" em 26/11/2026 às 14:00 com a Dra. Ana, a confirmar
    E a consulta de Maria guarda que antes era às 09:00
    E 09:00 voltou a estar entre os horários livres de 26/11/2026

  Cenário: Quem cancela libera o horário, e o primeiro da lista de espera recebe a oferta
    Dado que Maria tem "Limpeza" marcada em 26/11/2026 às 09:00
    E que o paciente João entrou na lista de espera de "Limpeza" para as manhãs
    E que a paciente Cida (+55 31 99123-4567) escreveu "Me avisem se vagar um horário"
    E que a paciente Cida entrou na lista de espera de "Limpeza"
    Quando Maria cancela a consulta porque "Vou viajar"
    Então a consulta de Maria está cancelada
    E João recebeu a oferta de 26/11/2026 às 09:00
    E Cida continua esperando na lista
    Quando a recepção marca "Limpeza" para João em 26/11/2026 às 09:00, pela lista de espera
    Então João tem "Limpeza" em 26/11/2026 às 09:00 com a Dra. Ana, a confirmar
    E João saiu da lista de espera
