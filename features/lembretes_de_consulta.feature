# language: pt
Funcionalidade: Lembretes de consulta que a paciente responde com um toque
  A clínica lembra cada consulta na véspera às 10h e duas horas antes, na conversa da
  paciente, com a data escrita por extenso. A paciente confirma, remarca ou cancela com um
  botão (ou escrevendo, como costuma escrever) e a agenda muda na hora; quem cancela libera o
  horário para a lista de espera.

  Contexto:
    Dado que a clínica tem o canal simulador
    E que são 10:00 de 25/11/2026
    E que a paciente Maria (+55 11 98765-4321) escreveu "Oi, quero marcar uma limpeza"
    E que Maria tem uma limpeza com a Dra. Ana em 02/12/2026 às 14:30

  Cenário: O lembrete sai na véspera às 10h, com a data por extenso e três botões
    Quando chegam as 10:00 de 01/12/2026
    Então Maria recebe "Olá, Maria! Passando para lembrar da sua consulta: Limpeza com Dra. Ana, quarta-feira, 2 de dezembro, às 14h30. Podemos confirmar sua presença?"
    E o lembrete tem os botões "Confirmar, Remarcar, Cancelar"

  Cenário: A paciente confirma com o botão
    Quando chegam as 10:00 de 01/12/2026
    E Maria toca no botão "Confirmar"
    Então a consulta de Maria está confirmada
    E Maria recebe "Obrigado! Sua consulta está confirmada para quarta-feira, 2 de dezembro, às 14h30. Até lá!"

  Cenário: A paciente escreve que não vai poder ir
    Quando chegam as 10:00 de 01/12/2026
    E Maria responde "Não vou poder ir, desculpa"
    Então a consulta de Maria está cancelada

  Cenário: A paciente pede para remarcar e escolhe outro horário
    Quando chegam as 10:00 de 01/12/2026
    E Maria toca no botão "Remarcar"
    E Maria escolhe o primeiro horário oferecido
    Então a consulta de Maria foi remarcada para o horário escolhido

  Cenário: Cancelar a consulta cancela os lembretes
    Quando a recepção cancela a consulta de Maria
    E chegam as 10:00 de 01/12/2026
    Então nenhum lembrete é enviado
